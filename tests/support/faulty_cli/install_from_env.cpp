// Linked only into podns-faulty, the test build of the CLI: before main(), install a fault handler
// that SIGKILLs the process at the crash point named by PODNS_TEST_KILL_POINT, so the crash tests
// stop a real CLI run exactly there. The installed podns lacks this object and reads no such
// variable (src/sys/fault.hpp).
#include <cstdlib>
#include <string>

#include "sys/fault.hpp"

namespace {

struct InstallFromEnv {
  InstallFromEnv() {
    const char* point = std::getenv("PODNS_TEST_KILL_POINT");
    if (!point || !*point) return;
    podns::sys::fault::install([wanted = std::string(point)](std::string_view at) {
      return podns::sys::fault::Decision{.crash = at == wanted};
    });
  }
} install_from_env;

}  // namespace
