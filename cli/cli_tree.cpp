#include "cli_tree.hpp"

#include <algorithm>
#include <cctype>

namespace podns::cli {

CliTree::CliTree() {
  describe_root(root, globals);
  register_all(root, globals, action);
}

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::vector<const CLI::Option*> named_options(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return !o->get_positional(); });
}

std::vector<const CLI::Option*> positionals(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return o->get_positional(); });
}

std::string positional_usage(const CLI::Option& opt) {
  std::string name = opt.get_name(true, false);
  std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::toupper(c); });
  if (opt.get_items_expected_max() > 1) name += "...";
  return opt.get_required() ? name : "[" + name + "]";
}

std::string option_usage(const CLI::Option& opt) {
  std::string names;
  for (const auto& s : opt.get_snames()) names += (names.empty() ? "-" : ", -") + s;
  for (const auto& l : opt.get_lnames()) names += (names.empty() ? "--" : ", --") + l;
  if (opt.get_expected_min() == 0) return names;  // a flag
  std::string value = opt.get_type_name();
  if (value.empty()) value = "VALUE";
  return names + " " + value;
}

std::string command_usage(const CLI::App& app) {
  std::string usage;
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent())
    usage = usage.empty() ? a->get_name() : a->get_name() + " " + usage;
  if (!visible_subcommands(app).empty()) usage += " COMMAND";
  for (const CLI::Option* p : positionals(app)) usage += " " + positional_usage(*p);
  if (named_options(app).size() > 1) usage += " [OPTIONS]";  // more than --help
  return usage;
}

}  // namespace podns::cli
