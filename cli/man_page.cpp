// Hidden `podns __man [WORD]`: the man page of podns (no WORD) or of one top-level word (ns, pod,
// network, cni, gc, ...) in roff, written from the same command tree the parser uses, so the
// pages cannot drift from `--help`. The build runs it for every word (CMake target podns_man).
#include <fmt/format.h>

#include <cstdio>

#include "cli_tree.hpp"

namespace podns::cli {
namespace {

// Text as roff wants it: backslashes escaped, and a line that starts with '.' or '\'' (a roff
// request) made literal.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

void options_section(std::string& page, const std::vector<const CLI::Option*>& opts) {
  for (const CLI::Option* o : opts) {
    if (o->check_name("--help")) continue;
    page += fmt::format(".TP\n.B {}\n{}\n", roff(option_usage(*o)), roff(o->get_description()));
  }
}

// One verb (and the verbs under it, depth first).
void command_section(std::string& page, const CLI::App& cmd) {
  page += fmt::format(".SS \"{}\"\n{}\n", roff(command_usage(cmd)), roff(cmd.get_description()));
  if (!cmd.get_aliases().empty()) {
    std::string aliases;
    for (const auto& a : cmd.get_aliases()) aliases += (aliases.empty() ? "" : ", ") + a;
    page += fmt::format(".br\nAlso: {}.\n", roff(aliases));
  }
  if (!cmd.get_footer().empty()) page += fmt::format(".PP\n{}\n", roff(cmd.get_footer()));
  options_section(page, named_options(cmd));
  for (const CLI::App* sub : visible_subcommands(cmd)) command_section(page, *sub);
}

constexpr std::string_view kEnvironment = R"(.SH ENVIRONMENT
.TP
.B PODNS_RUN_DIR
Pins and locks below this directory instead of /run/podns (and net pins in its netns/ instead of
/run/netns). Overridden by \-\-run\-dir.
.TP
.B PODNS_STATE_DIR
State and CNI cache below this directory instead of /var/lib/podns. Overridden by \-\-state\-dir.
.TP
.B CNI_PATH, NETCONFPATH
Where CNI plugins and network configuration lists are looked for (as cnitool reads them).
.SH FILES
.TP
.B /run/netns/NAME
Network namespace pins, shared with ip\-netns(8).
.TP
.B /run/podns/ns/TYPE/NAME
Pins of the other namespace types.
.TP
.B /var/lib/podns/podns.db
The state: pods, networks, leases, port mappings (SQLite, mode 0600).
)";

std::string page_for(const CliTree& tree, const CLI::App* word) {
  std::string title = word == nullptr ? "podns" : "podns-" + word->get_name();
  std::string upper;
  for (char c : title) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  const CLI::App& cmd = word == nullptr ? tree.root : *word;
  std::string page = fmt::format(".TH {} 8 \"\" \"{}\" \"podns\"\n.SH NAME\n{} \\- {}\n", upper,
                                 roff(kVersionLine), roff(title), roff(cmd.get_description()));
  page += fmt::format(".SH SYNOPSIS\n.B {}\n", roff(command_usage(cmd)));
  if (word == nullptr) {
    page += ".SH DESCRIPTION\nThe namespace\\-and\\-network layer under a container runtime: creates, pins, "
            "joins, inspects and removes Linux namespaces for pods, and gives pods networks (native "
            "bridges, CNI plugins, or slirp4netns/pasta for rootless pods).\n.SH COMMANDS\n";
    for (const CLI::App* sub : visible_subcommands(tree.root))
      page += fmt::format(".TP\n.BR podns\\-{} (8)\n{}\n", roff(sub->get_name()), roff(sub->get_description()));
    page += ".SH GLOBAL OPTIONS\n";
    options_section(page, named_options(tree.root));
    page += kEnvironment;
  } else {
    page += ".SH COMMANDS\n";
    // A group's own heading would repeat NAME: its verbs are the sections.
    auto verbs = visible_subcommands(cmd);
    if (verbs.empty()) command_section(page, cmd);
    for (const CLI::App* verb : verbs) command_section(page, *verb);
    page += ".SH GLOBAL OPTIONS\nAs for every podns command: see \\fBpodns\\fR(8).\n";
    options_section(page, named_options(tree.root));
  }
  page += ".SH SEE ALSO\n";
  std::string see;
  if (word != nullptr) see += "\\fBpodns\\fR(8), ";
  see += "\\fBip\\-netns\\fR(8), \\fBunshare\\fR(1), \\fBnsenter\\fR(1), \\fBslirp4netns\\fR(1), \\fBpasta\\fR(1)";
  page += see + "\n";
  return page;
}

void register_man(CLI::App& app, Globals&, Action& action) {
  auto* cmd = app.add_subcommand("__man", "");
  cmd->group("");
  auto word = std::make_shared<std::string>();
  cmd->add_option("word", *word);
  cmd->callback([&action, word] {
    action = [word]() -> Status {
      CliTree tree;
      const CLI::App* sub = nullptr;
      if (!word->empty()) {
        for (const CLI::App* s : visible_subcommands(tree.root))
          if (s->get_name() == *word) sub = s;
        if (sub == nullptr) return fail(Errc::not_found, fmt::format("no command {}", *word));
      }
      std::string page = page_for(tree, sub);
      std::fwrite(page.data(), 1, page.size(), stdout);
      return {};
    };
  });
}

Registrar man_registrar("__man", register_man);

}  // namespace
}  // namespace podns::cli
