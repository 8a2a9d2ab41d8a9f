#include "sys/fault.hpp"

#include <signal.h>

#include <atomic>
#include <memory>
#include <mutex>

namespace podns::sys::fault {
namespace {

// The fast path reads only `active`; the handler itself is shared so that uninstalling never
// frees one a thread is still running.
std::atomic<bool> active{false};
std::mutex mu;
std::shared_ptr<const Handler> current;  // guarded by mu

Decision ask(std::string_view point) {
  if (!active.load(std::memory_order_relaxed)) return {};
  std::shared_ptr<const Handler> h;
  {
    std::lock_guard lock(mu);
    h = current;
  }
  return h ? (*h)(point) : Decision{};
}

}  // namespace

void install(Handler handler) {
  std::lock_guard lock(mu);
  current = handler ? std::make_shared<const Handler>(std::move(handler)) : nullptr;
  active.store(current != nullptr, std::memory_order_relaxed);
}

void crash_point(std::string_view name) {
  if (ask(name).crash) ::raise(SIGKILL);
}

int injected_error(std::string_view name) { return ask(name).error; }

}  // namespace podns::sys::fault
