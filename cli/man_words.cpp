// Hidden `podns __man-words`: the top-level words that get a man page of their own (man_page.cpp),
// one per line, for the build (CMake target podns_man).
#include "cli_tree.hpp"

namespace podns::cli {
namespace {

void register_man_words(CLI::App& app, Globals&, Action& action) {
  auto* cmd = app.add_subcommand("__man-words", "");
  cmd->group("");
  cmd->callback([&action] {
    action = []() -> Status {
      CliTree tree;
      for (const CLI::App* s : visible_subcommands(tree.root)) print_line(s->get_name());
      return {};
    };
  });
}

Registrar man_words_registrar("__man-words", register_man_words);

}  // namespace
}  // namespace podns::cli
