// Every verb that reads or writes pins or state runs inside the rootless session when a non-root
// user starts it: entered before the verb, released after (rootless::enter_session).
#include <fmt/format.h>

#include <array>
#include <cstdio>

#include "cli.hpp"

namespace podns::cli {
namespace {

// Verbs that read or write pins or state. --help and --version never get here (parsing ends them).
constexpr std::array<std::string_view, 5> kJoiningVerbs = {"ns", "pod", "gc", "cni", "unshare"};

bool needs_session(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands())
    for (auto verb : kJoiningVerbs)
      if (sub->get_name() == verb) return true;
  return false;
}

}  // namespace

Status enter_session(CLI::App& app, Globals& g, char** argv) {
  if (!needs_session(app)) return {};
  auto entered = rootless::enter_session(g.paths(), argv);
  if (!entered) return fail(entered.error());
  if (*entered) g.session = std::move(**entered);
  return {};
}

void leave_session(Globals& g) {
  if (!g.session) return;
  auto r = g.session->release_and_stop_if_idle();
  if (!r) fmt::print(stderr, "podns: warning: {}\n", r.error().message());
  g.session.reset();
}

}  // namespace podns::cli
