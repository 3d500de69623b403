#!/usr/bin/env bash
# Makes dkrun's base image, dkrun/dkrun:VERSION, from Debian's packages and PyPI only (no
# container registry), in podman's local image store (docs/install.md):
#   scripts/base-image.sh [--binary FILE] [--cache DIR] [--print-inputs-digest]
#
# A Debian root file system of this machine's release (mmdebstrap) with python3 and the C
# libraries dkrun links, and dkrun installed by scripts/install.sh in its layout with
# PREFIX=/usr/local. The Python packages come from a wheelhouse downloaded here (pip download):
# nothing in the image reaches the network, so no CA of this machine goes into it.
#
#   --binary FILE     the dkrun to put in the image (default: a release build made now)
#   --cache DIR       where the wheels (DIR/wheels) and Debian's packages (DIR/debs) are kept
#                     between builds (default: .build/base-image)
#   --print-inputs-digest
#                     print the digest of what the image is made from (the binary, this
#                     script, install.sh, the stdlib, share/dkrun and the bridge) and make
#                     nothing: the image's label dkrun.inputs.sha256 holds the same digest
# Needs root (mmdebstrap's root mode, chroot), mmdebstrap, patchelf and podman (scripts/setup.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo/scripts/containers.conf}"

binary=""; cache="$repo/.build/base-image"; print_inputs_digest=false
while (($#)); do
  case "$1" in
    --binary|--cache)
      (($# >= 2)) || { echo "base-image.sh: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    --print-inputs-digest) print_inputs_digest=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "base-image.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  # One build at a time on this machine: other checkouts' builds and tests take the same lock.
  echo "base-image.sh: scripts/release-build.sh" >&2
  (cd "$repo" && flock /tmp/dkrun-build.lock scripts/release-build.sh >&2)
  binary="$(cd "$repo" && swift build -c release --show-bin-path)/dkrun"
fi

# What the image is made from: an image whose label differs is out of date, whichever input
# changed (a test rebuilds it; an entrypoint change with the same binary counts too).
inputs_digest() {
  { sha256sum "$binary" | cut -d' ' -f1
    cd "$repo" && find scripts/base-image.sh scripts/install.sh stdlib share/dkrun python \
      -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
}
if $print_inputs_digest; then inputs_digest; exit 0; fi

image="dkrun/dkrun:$("$binary" --version)"
mkdir -p "$cache/wheels" "$cache/debs"
cache=$(cd "$cache" && pwd); wheelhouse="$cache/wheels"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The wheels, for this machine's Python, which is the image's (the same Debian release); the
# bridge as a wheel too, so that the image builds nothing.
echo "base-image.sh: the wheelhouse, $wheelhouse" >&2
python3 -m venv "$work/pip"
"$work/pip/bin/pip" download -q --disable-pip-version-check -d "$wheelhouse" -r "$repo/python/runtime-requirements.txt"
cp -R "$repo/python" "$work/bridge"  # pip builds a project in its own folder: a copy gets the leftovers
"$work/pip/bin/pip" wheel -q --disable-pip-version-check --no-deps -w "$wheelhouse" "$work/bridge"

# The C libraries are those scripts/setup.sh's -dev packages link (DockerContext.runtimePackages).
# The packages downloaded are kept for the next build (mmdebstrap's sync-in, sync-out).
. /etc/os-release
echo "base-image.sh: Debian $VERSION_CODENAME with dkrun" >&2
mmdebstrap --quiet --variant=minbase --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives' --setup-hook="sync-in '$cache/debs' /var/cache/apt/archives" \
  --include=python3,python3-venv,ca-certificates,liblua5.4-0,libyaml-0-2,libcurl4,libedit2,libsqlite3-0 \
  --customize-hook="'$repo/scripts/install.sh' --destdir \"\$1\" --prefix /usr/local --binary '$binary' --wheelhouse '$wheelhouse'" \
  --customize-hook="sync-out /var/cache/apt/archives '$cache/debs'" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb' \
  "$VERSION_CODENAME" "$work/rootfs.tar"

# The entrypoint honours Dask images' EXTRA_APT_PACKAGES and EXTRA_PIP_PACKAGES (docs/kubernetes.md).
# The bridge's virtualenv first on PATH: `python`, `dask scheduler`, `dask worker` are its own, as
# the seeds' pod specs expect of a Dask image.
replaced=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
podman import --quiet --change "LABEL dkrun.inputs.sha256=$(inputs_digest)" \
  --change 'ENV PATH=/usr/local/lib/dkrun/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change 'WORKDIR /root' --change 'ENTRYPOINT ["/usr/local/share/dkrun/entrypoint.sh"]' \
  --change 'CMD ["dkrun", "--help"]' \
  --message "dkrun's base image (scripts/base-image.sh)" "$work/rootfs.tar" "$image" >/dev/null
# The image this one replaces, untagged now, unless a container still uses it.
[ -z "$replaced" ] || podman rmi "$replaced" >/dev/null 2>&1 || true
echo "base-image.sh: made $image ($(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec))" >&2
