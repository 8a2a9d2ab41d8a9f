// podns completion bash|zsh|fish: a shell script that completes verbs, flags and live names.
// The scripts are thin: on each TAB they ask `podns __complete -- WORDS...` (complete.cpp: the
// words after "podns", the last one being completed), which walks the CLI's own command tree and
// lists the pins, pods or networks that exist right now. So completion knows every verb the binary has and
// nothing it does not, the way cobra-based tools (podman, kubectl) complete.
#include <cstdio>
#include <memory>
#include <string_view>

#include "cli.hpp"

namespace podns::cli {
namespace {

constexpr std::string_view kBash = R"sh(# bash completion for podns: source it, or install as
# /usr/share/bash-completion/completions/podns
_podns() {
  local IFS=$'\n'
  COMPREPLY=($("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -F _podns podns
)sh";

constexpr std::string_view kZsh = R"sh(#compdef podns
# zsh completion for podns: install as _podns in a directory of $fpath, or source it after compinit
_podns() {
  local -a candidates
  candidates=(${(f)"$(${words[1]} __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)"})
  compadd -a candidates
}
if [ "$funcstack[1]" = "_podns" ]; then
  _podns "$@"
else
  compdef _podns podns
fi
)sh";

constexpr std::string_view kFish = R"sh(# fish completion for podns: install as
# /usr/share/fish/vendor_completions.d/podns.fish, or source it
function __podns_complete
    set -l tokens (commandline -opc) (commandline -ct)
    $tokens[1] __complete -- $tokens[2..-1] 2>/dev/null
end
complete -c podns -f -a '(__podns_complete)'
)sh";

void register_completion(CLI::App& app, Globals&, Action& action) {
  auto* cmd = app.add_subcommand("completion", "Print a shell completion script (bash, zsh or fish)");
  auto shell = std::make_shared<std::string>();
  cmd->add_option("shell", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->footer("bash: source <(podns completion bash)   zsh: source <(podns completion zsh)   "
              "fish: podns completion fish | source");
  cmd->callback([&action, shell] {
    action = [shell]() -> Status {
      std::string_view script = *shell == "bash" ? kBash : *shell == "zsh" ? kZsh : kFish;
      std::fwrite(script.data(), 1, script.size(), stdout);
      return {};
    };
  });
}

Registrar completion_registrar("completion", register_completion);

}  // namespace
}  // namespace podns::cli
