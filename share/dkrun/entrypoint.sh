#!/bin/sh
# The entrypoint of dkrun's images (scripts/base-image.sh, `dkrun build`), installed by
# scripts/install.sh as PREFIX/share/dkrun/entrypoint.sh. It honours the Dask images'
# conventions, which the seeds' worker specs use, then runs the container's command:
#   EXTRA_APT_PACKAGES   Debian packages to install first (pip packages may need their libraries)
#   EXTRA_PIP_PACKAGES   pip requirements to install into dkrun's virtualenv (PIP_* variables,
#                        such as PIP_NO_INDEX and PIP_FIND_LINKS, apply as usual)
# Both need root in the container, and the network unless the packages are at hand. As in
# Dask's images, an install that fails is reported and the command runs anyway: a worker with
# no network (or no git for a git+https requirement) still serves the tasks that do not need
# the package, where stopping here would only make its pod fail over and over.
set -eu
venv="$(cd "$(dirname "$0")/../.." && pwd)/lib/dkrun/venv"

if [ -n "${EXTRA_APT_PACKAGES:-}" ]; then
  echo "dkrun entrypoint: EXTRA_APT_PACKAGES: installing $EXTRA_APT_PACKAGES" >&2
  # shellcheck disable=SC2086  # a list of package names
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $EXTRA_APT_PACKAGES; } >&2; then
    echo "dkrun entrypoint: EXTRA_APT_PACKAGES: could not install $EXTRA_APT_PACKAGES; going on without" >&2
  fi
  rm -rf /var/lib/apt/lists/*
fi
if [ -n "${EXTRA_PIP_PACKAGES:-}" ]; then
  echo "dkrun entrypoint: EXTRA_PIP_PACKAGES: installing $EXTRA_PIP_PACKAGES" >&2
  # shellcheck disable=SC2086  # a list of requirements
  if ! "$venv/bin/pip" install -q --no-cache-dir --disable-pip-version-check $EXTRA_PIP_PACKAGES >&2; then
    echo "dkrun entrypoint: EXTRA_PIP_PACKAGES: could not install $EXTRA_PIP_PACKAGES; going on without" >&2
  fi
fi
exec "$@"
