#include "podns/error.hpp"

namespace podns {
namespace {

class PodnsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "podns"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::invalid_name: return "invalid name";
      case Errc::invalid_argument: return "invalid argument";
      case Errc::not_a_namespace: return "not a namespace";
      case Errc::wrong_namespace_type: return "namespace of another type";
      case Errc::already_exists: return "already exists";
      case Errc::not_found: return "not found";
      case Errc::process_exited: return "process exited";
      case Errc::plugin_failed: return "plugin failed";
      case Errc::timed_out: return "timed out";
      case Errc::corrupt: return "corrupt data";
      case Errc::unsupported: return "not supported";
      case Errc::busy: return "busy";
      case Errc::outside_base_dir: return "outside the base directory";
      case Errc::wrong_thread_model: return "not possible in a multi-threaded process";
      case Errc::thread_stranded: return "this thread is stuck in another namespace";
    }
    return "unknown podns error";
  }
};

}  // namespace

const std::error_category& podns_category() noexcept {
  static const PodnsCategory category;
  return category;
}

std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), podns_category()}; }

std::string Error::message() const {
  if (!code_) return what_;
  std::string reason = code_.message();
  return what_.empty() ? reason : what_ + ": " + reason;
}

}  // namespace podns
