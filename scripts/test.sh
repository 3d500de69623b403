#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh) and runs every test: unit, Lua, and end-to-end
# tests of the built dkrun, including the examples and the docs' code blocks, on real Dask
# processes and against the Kubernetes test cluster (tools/kubesim, with its own tests).
set -euo pipefail
cd "$(dirname "$0")/.."

DKRUN_BUILD=debug scripts/setup.sh
# The real kubectl checks the Kubernetes test cluster. It comes with the machine image (Google
# Cloud SDK's build); Debian's kubernetes-client 1.20 is too old for its OpenAPI v3.
command -v kubectl >/dev/null || { echo "scripts/test.sh: kubectl is not on PATH; the Kubernetes tests need it" >&2; exit 1; }
swift build --build-tests >&2
swift test --skip-build --disable-xctest  # Swift Testing only: no empty XCTest run
.venv/bin/python -m unittest discover -s tools/kubesim -t tools/kubesim -p 'test_*.py'
