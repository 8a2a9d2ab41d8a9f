// Makes this process's clones take the path for kernels without clone3, as if clone3 failed with
// ENOSYS (the fault point sys::fault::kClone3), for as long as it lives: the fallback is tested on
// kernels that have clone3.
#pragma once

#include <atomic>
#include <cerrno>
#include <memory>
#include <optional>
#include <string_view>

#include "sys/fault.hpp"

namespace podns::test {

class CloneFallback {
 public:
  // `on` false: clone3 as usual (for tests run both ways).
  explicit CloneFallback(bool on = true) {
    if (!on) return;
    scoped_.emplace([asked = asked_](std::string_view point) {
      if (point != sys::fault::kClone3) return sys::fault::Decision{};
      ++*asked;
      return sys::fault::Decision{.error = ENOSYS};
    });
  }
  // How many clones asked, and so took the fallback.
  int asked() const { return *asked_; }

 private:
  std::shared_ptr<std::atomic<int>> asked_ = std::make_shared<std::atomic<int>>(0);
  std::optional<sys::fault::Scoped> scoped_;
};

}  // namespace podns::test
