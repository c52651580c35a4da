#!/usr/bin/env bash
# The restart scenario as pictures: the timeline (open out/restart.trace.json
# in Perfetto's UI or chrome://tracing), the negotiation's sequence diagrams,
# and one self-contained HTML report to attach to a bug report.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
.venv/bin/qemuinit trace --scenario vhost-user-restart --json out/restart.json \
    --timeline out/restart.trace.json --html out/restart.html "$@"
.venv/bin/qemuinit report out/restart.json --format sequence -o out/restart-negotiation.svg
echo "wrote out/restart.trace.json out/restart-negotiation.svg out/restart.html"
