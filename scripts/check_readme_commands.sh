#!/usr/bin/env bash
# Runs every shell command of README.md as a reader would, from a fresh folder that sees the
# repository's Samples/, with the release build on the PATH: the lines of each ```sh block
# (continuation lines joined), in order, in one shell, stopping at the first that fails.
# `make` lines are what CI runs anyway (make demo is run here first, for the release build).
# One change: `ranet train ... --epochs 12` runs one epoch (twelve take about 15 minutes).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
make -C "$root" demo >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ln -s "$root/Samples" "$work/Samples"
ln -s "$root/.build" "$work/.build"
python3 - "$root/README.md" > "$work/readme-commands.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
lines = []
for block in re.findall(r"```sh\n(.*?)```", text, re.S):
    joined = block.replace("\\\n", " ")
    for line in joined.splitlines():
        command = line.split("  #")[0].strip()
        if command and not command.startswith("make "):
            lines.append(command.replace("--epochs 12", "--epochs 1"))
print("set -euo pipefail")
for command in lines:
    print(f"echo '$ {command}'")
    print(command)
PY
cd "$work"
count=$(grep -c '^echo' readme-commands.sh)
bash readme-commands.sh
echo "README: $count commands ran"
