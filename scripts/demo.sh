#!/usr/bin/env bash
# make demo: podns doing its main job on this machine, leaving the host as it was.
set -euo pipefail
podns=${1:?usage: demo.sh PATH_TO_PODNS}
"$podns" --help
