#!/usr/bin/env bash
# Installs everything dkrun needs on a fresh Debian machine and builds it.
#   scripts/setup.sh            system packages, Python virtualenvs, release build
#   DKRUN_BUILD=debug scripts/setup.sh   the same with a debug build
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# graphviz: dkrun graph; openssl and python3: the tests' HTTPS servers; tmux: the REPL's tests;
# curl: the tests' fault hook; nftables: the Kubernetes test cluster's service routing;
# chromium: the run report's tests load the page in headless Chromium (docs/report.md);
# patchelf: scripts/install.sh; mmdebstrap, podman and runc: dkrun's base image (scripts/base-image.sh);
# lua5.4: the cold start's peer in scripts/bench_core.py; docker-registry: the tests' private
# registry (tools/kubesim/registry.py; its htpasswd file is made with bcrypt from .venv);
# libstdc++-12-dev: the static libstdc++ a release build links in (scripts/release-build.sh).
APT_PACKAGES=(pkg-config libstdc++-12-dev liblua5.4-dev libyaml-dev libcurl4-openssl-dev libedit-dev libsqlite3-dev graphviz openssl python3 python3-venv
              tmux curl nftables chromium patchelf mmdebstrap podman runc lua5.4 docker-registry)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Python bridge to Dask (python/dkrun_dask, editable) and the pinned Dask live in a
# virtualenv inside the repo; dkrun finds it next to the checkout it was built in.
if [ ! -x .venv/bin/python ] || ! cat python/requirements.txt python/runtime-requirements.txt python/pyproject.toml | cmp -s - .venv/installed.txt; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r python/requirements.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e python
  cat python/requirements.txt python/runtime-requirements.txt python/pyproject.toml > .venv/installed.txt
fi

# Prefect 1.4.1, the peer that scripts/conformance.py compares dkrun with, in a virtualenv of
# its own: its pins (Dask, marshmallow, ...) are not the project's.
if [ ! -x .venv-prefect1/bin/python ] || ! cmp -s Tests/Conformance/prefect1-requirements.txt .venv-prefect1/installed.txt; then
  echo "setup: creating .venv-prefect1" >&2
  python3 -m venv .venv-prefect1
  .venv-prefect1/bin/pip install -q --disable-pip-version-check -r Tests/Conformance/prefect1-requirements.txt
  cp Tests/Conformance/prefect1-requirements.txt .venv-prefect1/installed.txt
fi

# Every release build is scripts/release-build.sh's (the Swift runtime and libstdc++ linked in,
# docs/performance.md): a build with other flags compiles everything again.
if [ "${DKRUN_BUILD:-release}" = release ]; then
  echo "setup: scripts/release-build.sh" >&2
  scripts/release-build.sh >&2
else
  echo "setup: swift build -c $DKRUN_BUILD" >&2
  swift build -c "$DKRUN_BUILD" --product dkrun >&2
fi
