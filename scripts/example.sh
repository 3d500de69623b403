#!/usr/bin/env bash
# Sets up a fresh machine (system packages, Python tools, release build) and runs an example
# flow: scripts/example.sh [FLOW.lua] [dkrun options...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
flow="${1:-examples/hello.lua}"
shift || true
exec .build/release/dkrun "$flow" "$@"
