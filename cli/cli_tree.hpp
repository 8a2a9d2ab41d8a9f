// The CLI's own definitions, read back: the whole command tree for what must describe every verb
// exactly as `--help` does (completion, man pages), so neither can drift from the parser.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"

namespace podns::cli {

// Every word's verbs on one root, as `podns --help` would show them. Keep it alive while the
// pointers into it are used.
struct CliTree {
  CLI::App root;
  Globals globals;
  Action action;
  CliTree();
};

// The visible subcommands of `app` (hidden ones have an empty group), in definition order.
std::vector<const CLI::App*> visible_subcommands(const CLI::App& app);
// Its options other than positionals, --help included.
std::vector<const CLI::Option*> named_options(const CLI::App& app);
std::vector<const CLI::Option*> positionals(const CLI::App& app);

// "NAME", "[NAME]", "NAME..." as a usage line shows a positional.
std::string positional_usage(const CLI::Option& opt);
// "--type TYPE", "--json", "-f, --force".
std::string option_usage(const CLI::Option& opt);
// "podns ns rm NAME... [OPTIONS]".
std::string command_usage(const CLI::App& app);

}  // namespace podns::cli
