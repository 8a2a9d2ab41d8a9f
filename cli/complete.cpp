// Hidden `podns __complete -- WORDS...`: what the completion scripts (completion.cpp) call on each
// TAB. It walks the CLI's own command tree for the verbs and flags that can follow WORDS and lists
// the pins, pods or networks that exist right now for a positional that names one.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cli_tree.hpp"
#include "pod_common.hpp"
#include "podns/pin.hpp"
#include "podns/pod/networks.hpp"

namespace podns::cli {
namespace {

enum class Names { none, pins, pods, networks, namespace_types };

// What a positional of `verb` names: the objects of its group, except for the verbs that make a
// new one (its name does not exist yet) and the command after `exec`'s name.
Names positional_names(const CLI::App& verb, size_t positionals_before) {
  const CLI::App* group = verb.get_parent();
  if (group == nullptr || group->get_parent() == nullptr) return Names::none;
  const std::string& name = verb.get_name();
  if (name == "add" || name == "create" || name == "attach") return Names::none;
  bool many = name == "rm";
  if (positionals_before > 0 && !many) return Names::none;
  if (group->get_name() == "ns") return Names::pins;
  if (group->get_name() == "pod") return Names::pods;
  if (group->get_name() == "network") return Names::networks;
  return Names::none;
}

// What the value of an option names.
Names option_names(const CLI::Option& opt) {
  for (const auto& l : opt.get_lnames()) {
    if (l == "network") return Names::networks;
    if (l == "type") return Names::namespace_types;
  }
  return Names::none;
}

// Live names, best effort: completion never prints an error.
std::vector<std::string> live_names(Names kind, const Globals& g) {
  std::set<std::string> out;  // a pin of several types is one name
  switch (kind) {
    case Names::none:
      break;
    case Names::pins:
      if (auto pins = list_pins(g.paths()))
        for (const auto& p : *pins) out.insert(p.name);
      break;
    case Names::pods:
      if (auto pods = pod::list(pod::PodEnv::from_paths(g.paths())))
        for (const auto& p : *pods) out.insert(p.name);
      break;
    case Names::networks:
      if (auto nets = pod::network_list(pod::PodEnv::from_paths(g.paths())))
        for (const auto& n : *nets) out.insert(n.name);
      break;
    case Names::namespace_types:
      for (const NamespaceInfo& info : all_namespaces()) out.insert(std::string(info.name));
      break;
  }
  return {out.begin(), out.end()};
}

const CLI::Option* find_option(const CLI::App& app, std::string_view word) {
  auto eq = word.find('=');
  std::string name(word.substr(0, eq));
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent())
    for (const CLI::Option* o : named_options(*a))
      if (o->check_name(name)) return o;
  return nullptr;
}

const CLI::App* find_subcommand(const CLI::App& app, const std::string& word) {
  for (const CLI::App* sub : visible_subcommands(app))
    if (sub->check_name(word)) return sub;
  return nullptr;
}

// The candidates for the last of `words` (the words after "podns"; the last may be empty).
std::vector<std::string> complete(const std::vector<std::string>& words, Globals& g) {
  CliTree tree;
  const CLI::App* cmd = &tree.root;
  const CLI::Option* value_of = nullptr;  // the last full word is an option wanting a value
  size_t positionals_before = 0;
  bool only_positionals = false;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string& w = words[i];
    value_of = nullptr;
    if (w == "--") {
      only_positionals = true;
    } else if (!only_positionals && w.size() > 1 && w[0] == '-') {
      const CLI::Option* o = find_option(*cmd, w);
      if (o != nullptr && o->get_expected_min() > 0 && w.find('=') == std::string::npos) {
        if (i + 2 == words.size()) value_of = o;
        ++i;  // its value
        // The global --run-dir/--state-dir change where the live names are.
        if (i < words.size() && o->check_name("--run-dir")) g.run_dir = words[i];
        if (i < words.size() && o->check_name("--state-dir")) g.state_dir = words[i];
      }
    } else if (const CLI::App* sub = positionals_before == 0 ? find_subcommand(*cmd, w) : nullptr) {
      cmd = sub;
    } else {
      ++positionals_before;
    }
  }
  const std::string& partial = words.empty() ? std::string() : words.back();
  std::vector<std::string> all;
  if (value_of != nullptr) {
    all = live_names(option_names(*value_of), g);
  } else if (!partial.empty() && partial[0] == '-' && !only_positionals) {
    for (const CLI::App* a = cmd; a != nullptr; a = a->get_parent())
      for (const CLI::Option* o : named_options(*a))
        for (const auto& l : o->get_lnames()) all.push_back("--" + l);
  } else if (auto subs = visible_subcommands(*cmd); !subs.empty() && positionals_before == 0) {
    for (const CLI::App* sub : subs) all.push_back(sub->get_name());
  } else {
    all = live_names(positional_names(*cmd, positionals_before), g);
  }
  std::vector<std::string> out;
  for (auto& c : all)
    if (c.starts_with(partial)) out.push_back(std::move(c));
  return out;
}

// Hidden: what the scripts call. Its words come after "--", so none is taken for its own option.
void register_complete(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = app.add_subcommand("__complete", "");
  cmd->group("");
  auto words = std::make_shared<std::vector<std::string>>();
  cmd->add_option("words", *words);
  cmd->callback([&g, &action, words] {
    action = [&g, words]() -> Status {
      std::vector<std::string> w = *words;
      if (w.empty()) w.emplace_back();
      for (const auto& c : complete(w, g)) print_line(c);
      return {};
    };
  });
}

Registrar complete_registrar("__complete", register_complete);

}  // namespace
}  // namespace podns::cli
