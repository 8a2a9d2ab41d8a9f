// The podns CLI: parsing and printing only. Each verb group lives in its own file and registers
// itself with a static Registrar; a verb's callback stores an Action that main() runs after parsing,
// then main() reports a failed Status once as "podns: <what>: <why>" (exit 1; usage errors exit 2).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "podns/error.hpp"
#include "podns/paths.hpp"

namespace podns::cli {

struct Globals {
  std::string run_dir;    // --run-dir / PODNS_RUN_DIR
  std::string state_dir;  // --state-dir / PODNS_STATE_DIR
  // The effective paths: flags first, then the environment, then the defaults.
  Paths paths() const;
};

using Action = std::function<Status()>;
using RegisterFn = void (*)(CLI::App& app, Globals& globals, Action& action);

struct Registrar {
  explicit Registrar(RegisterFn fn);
};

// The group subcommand `name` (ns, pod, cni), created on first use so that every verb file of the
// group can add its verbs to it.
CLI::App& group(CLI::App& app, const std::string& name, const std::string& description);

// Print JSON (2-space indent) or text to stdout.
void print_line(const std::string& text);

}  // namespace podns::cli
