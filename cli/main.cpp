#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "podns/pod/pod.hpp"
#include "progress.hpp"

namespace podns::cli {
namespace {

struct Registration {
  std::string_view word;
  RegisterFn fn;
};

std::vector<Registration>& registry() {
  static std::vector<Registration> all;
  return all;
}

// The first word of the command line that is not a global option: the verb group it asks for.
std::string_view requested_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--run-dir" || arg == "--state-dir") {
      ++i;
      continue;
    }
    if (!arg.starts_with('-')) return arg;
  }
  return {};
}

}  // namespace

Registrar::Registrar(std::string_view word, RegisterFn fn) { registry().push_back({word, fn}); }

void describe_root(CLI::App& app, Globals& globals) {
  app.description("podns: namespaces and networking for pods");
  app.name("podns");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(kVersionLine));
  // Environment variables are read by Paths::from_environment(); the flags override them.
  app.add_option("--run-dir", globals.run_dir, "Pins and locks below this dir (env PODNS_RUN_DIR)");
  app.add_option("--state-dir", globals.state_dir, "State and CNI cache below this dir (env PODNS_STATE_DIR)");
}

void register_all(CLI::App& app, Globals& globals, Action& action) {
  for (const Registration& r : registry()) r.fn(app, globals, action);
}

Paths Globals::paths() const {
  Paths p = Paths::from_environment();
  p.move_run_dir(run_dir);
  p.move_state_dir(state_dir);
  return p;
}

CLI::App& group(CLI::App& app, const std::string& name, const std::string& description) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return *sub;
  CLI::App* sub = app.add_subcommand(name, description);
  sub->require_subcommand(1);
  return *sub;
}

void print_line(const std::string& text) {
  progress::clear();
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

Status for_each_name(const std::vector<std::string>& names, const std::function<Status(const std::string&)>& fn,
                     std::string_view doing, EchoDone echo) {
  std::optional<Error> first;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
    if (!doing.empty() && names.size() > 1) progress::show(fmt::format("{} {}", doing, name), i, names.size());
    if (auto s = fn(name); !s) {
      progress::clear();
      if (first) fmt::print(stderr, "podns: {}\n", s.error().message());
      else first = s.error();
    } else if (echo == EchoDone::yes) {
      print_line(name);
    }
  }
  if (first) return fail(*first);
  return {};
}

}  // namespace podns::cli

namespace {

int run(int argc, char** argv) {
  using namespace podns::cli;
  CLI::App app;
  Globals globals;
  describe_root(app, globals);
  Action action;
  // Only the verbs under the requested word: building CLI11's whole tree was a third of the
  // start-up of `podns ns add`. Help, and a word no verb has, get every verb.
  std::string_view word = requested_word(argc, argv);
  bool known = std::ranges::any_of(registry(), [&](const Registration& r) { return r.word == word; });
  for (const Registration& r : registry())
    if (!known || r.word == word) r.fn(app, globals, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!action) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  podns::Status status = enter_session(app, globals, argv);
  if (status) {
    // Convert here rather than in main() so the session is still left properly.
    try {
      status = action();
    } catch (const std::exception& e) {
      status = podns::fail(podns::Error(std::error_code(), std::string("internal error: ") + e.what()));
    }
  }
  progress::clear();
  std::fflush(stdout);
  leave_session(globals);
  if (!status) {
    fmt::print(stderr, "podns: {}\n", status.error().message());
    return 1;
  }
  return globals.exit_code;
}

}  // namespace

// The library reports failures as values; an exception reaching here is a bug (or bad_alloc).
// Still one line and exit 1, never std::terminate's abort and core dump.
int main(int argc, char** argv) {
  try {
    int rc = run(argc, argv);
    podns::pod::hand_off_slow_closes();  // or the exit waits for the kernel (pod rm: most of its time)
    return rc;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "podns: {}\n", e.what());
  } catch (...) {
    std::fflush(stdout);
    std::fputs("podns: unknown internal error\n", stderr);
  }
  return 1;
}
