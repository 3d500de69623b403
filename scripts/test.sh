#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh) and runs every test: unit, Lua, the inputs that once
# crashed a fuzz target (Tests/Fuzz/*/regressions, in FuzzTests), and end-to-end tests of the
# built dkrun, including the examples and the docs' code blocks, on real Dask processes and
# against the Kubernetes test cluster (tools/kubesim, with its own tests), and the Prefect 1
# conformance suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Both builds' output is kept: a compiler warning in our own code fails the run (CI builds from
# a fresh clone, so every file is compiled and every warning shown).
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
DKRUN_BUILD=debug scripts/setup.sh 2>&1 | tee "$build_log" >&2
# The real kubectl checks the Kubernetes test cluster. It comes with the machine image (Google
# Cloud SDK's build); Debian's kubernetes-client 1.20 is too old for its OpenAPI v3.
command -v kubectl >/dev/null || { echo "scripts/test.sh: kubectl is not on PATH; the Kubernetes tests need it" >&2; exit 1; }
swift build --build-tests 2>&1 | tee -a "$build_log" >&2
if grep -E "^$PWD/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" "$build_log" | sort -u >&2; then
  echo "scripts/test.sh: the build has compiler warnings (above): fix them" >&2
  exit 1
fi
swift test --skip-build --disable-xctest  # Swift Testing only: no empty XCTest run
.venv/bin/python -m unittest discover -s tools/kubesim -t tools/kubesim -p 'test_*.py'
# The Prefect 1 conformance suite (Tests/Conformance): the debug build against Prefect 1.4.1.
.venv/bin/python scripts/conformance.py --dkrun .build/debug/dkrun
