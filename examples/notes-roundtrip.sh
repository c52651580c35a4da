#!/usr/bin/env bash
# The seed's notes in, checked, and back out corrected: import
# docs/seed/qemu-init-flow.md against the default scenario (dpdk-testpmd
# negotiates), trace with the imported path, export the notes (markdown and
# SVG) to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
seed=docs/seed/qemu-init-flow.md
.venv/bin/qemuinit path import "$seed" -o out/seed-path.toml --scenario vhost-user
.venv/bin/qemuinit trace --path out/seed-path.toml --json out/seed.json
.venv/bin/qemuinit path export out/seed.json --path out/seed-path.toml --format md -o out/seed-checked.md
.venv/bin/qemuinit path export out/seed.json --path out/seed-path.toml --format dot -o out/seed-checked.dot
dot -Tsvg out/seed-checked.dot -o out/seed-checked.svg
echo "wrote out/seed-path.toml, out/seed-checked.md, out/seed-checked.svg"
