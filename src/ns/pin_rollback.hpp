// What every way of pinning a set uses to keep "on any failure nothing is left behind": the pins
// made so far are removed, last first, unless the caller releases them. Not installed.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "podns/paths.hpp"
#include "podns/pin.hpp"

namespace podns::detail {

// Remove one pin; a pid namespace pin made by podns also takes its holder init down with it (the
// one its record names; see pidns_holder.hpp).
[[nodiscard]] Status remove_one_pin(const Paths& paths, NamespaceType type, std::string_view name,
                                    const std::string& path);

class PinRollback {
 public:
  explicit PinRollback(const Paths& paths) : paths_(paths) {}
  ~PinRollback() {
    for (auto it = pins_.rbegin(); it != pins_.rend(); ++it) (void)remove_one_pin(paths_, it->type, it->name, it->path);
  }
  PinRollback(const PinRollback&) = delete;
  PinRollback& operator=(const PinRollback&) = delete;
  void add(PinnedNamespace pin) { pins_.push_back(std::move(pin)); }
  std::vector<PinnedNamespace> release() { return std::exchange(pins_, {}); }

 private:
  const Paths& paths_;
  std::vector<PinnedNamespace> pins_;
};

}  // namespace podns::detail
