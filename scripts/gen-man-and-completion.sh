#!/usr/bin/env bash
# Write podns's man pages (man8/podns.8, man8/podns-WORD.8 for each top-level word) and its shell
# completion scripts, all produced by the podns binary itself from its command definitions.
#   scripts/gen-man-and-completion.sh PATH_TO_PODNS OUT_DIR
set -euo pipefail
podns=${1:?usage: gen-man-and-completion.sh PODNS OUT_DIR}
out=${2:?usage: gen-man-and-completion.sh PODNS OUT_DIR}
mkdir -p "$out/man8" "$out/completion"
"$podns" __man >"$out/man8/podns.8.tmp"
mv "$out/man8/podns.8.tmp" "$out/man8/podns.8"
for word in $("$podns" __man-words); do
  "$podns" __man "$word" >"$out/man8/podns-$word.8.tmp"
  mv "$out/man8/podns-$word.8.tmp" "$out/man8/podns-$word.8"
done
"$podns" completion bash >"$out/completion/podns.bash"
"$podns" completion zsh >"$out/completion/_podns"
"$podns" completion fish >"$out/completion/podns.fish"
