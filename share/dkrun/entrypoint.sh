#!/bin/sh
# The entrypoint of dkrun's images (scripts/base-image.sh, `dkrun build`), installed by
# scripts/install.sh as PREFIX/share/dkrun/entrypoint.sh. It honours the Dask images'
# conventions, which the seeds' worker specs use, then runs the container's command:
#   EXTRA_APT_PACKAGES   Debian packages to install first (pip packages may need their libraries)
#   EXTRA_PIP_PACKAGES   pip requirements to install into dkrun's virtualenv (PIP_* variables,
#                        such as PIP_NO_INDEX and PIP_FIND_LINKS, apply as usual)
# Both need root in the container, and the network unless the packages are at hand.
set -eu
venv="$(cd "$(dirname "$0")/../.." && pwd)/lib/dkrun/venv"

if [ -n "${EXTRA_APT_PACKAGES:-}" ]; then
  echo "dkrun entrypoint: EXTRA_APT_PACKAGES: installing $EXTRA_APT_PACKAGES" >&2
  apt-get update -q >&2
  # shellcheck disable=SC2086  # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $EXTRA_APT_PACKAGES >&2
  rm -rf /var/lib/apt/lists/*
fi
if [ -n "${EXTRA_PIP_PACKAGES:-}" ]; then
  echo "dkrun entrypoint: EXTRA_PIP_PACKAGES: installing $EXTRA_PIP_PACKAGES" >&2
  # shellcheck disable=SC2086  # a list of requirements
  "$venv/bin/pip" install -q --no-cache-dir --disable-pip-version-check $EXTRA_PIP_PACKAGES >&2
fi
exec "$@"
