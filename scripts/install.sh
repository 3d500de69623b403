#!/usr/bin/env bash
# Installs dkrun (docs/install.md):
#   scripts/install.sh [--prefix DIR] [--binary FILE] [--wheelhouse DIR] [--destdir DIR]
#
#   PREFIX/bin/dkrun                      the binary; a release build has the Swift runtime linked in
#   PREFIX/lib/dkrun/*.so                 the Swift runtime libraries a dynamically linked dkrun (a
#                                         debug build, --binary) links, found by its rpath
#   PREFIX/lib/dkrun/venv                 the Python bridge's virtualenv: the pinned Dask, bokeh, dkrun_dask
#   PREFIX/share/dkrun/stdlib             the Lua standard library (dk.json, dk.http, ...)
#   PREFIX/share/dkrun/python             the bridge's source, for `dkrun build`
#   PREFIX/share/dkrun/entrypoint.sh      an image's entrypoint: EXTRA_APT_PACKAGES, EXTRA_PIP_PACKAGES
#   PREFIX/share/{bash-completion,zsh,fish}/...   shell completions
#
# dkrun finds each of them from its own path, with no environment variable. dkrun's base image
# (scripts/base-image.sh) is this layout with PREFIX=/usr/local.
#
#   --prefix DIR      where to install: /usr/local for root, else ~/.local
#   --binary FILE     install this dkrun rather than a release build made now
#   --wheelhouse DIR  install the Python packages from DIR, with no network: the wheels of
#                     runtime-requirements.txt (pip download) and the bridge's (pip wheel python)
#   --destdir DIR     install into the root file system DIR (an image's): the files under
#                     DIR/PREFIX, the virtualenv made by DIR's own python3 (chroot; needs root),
#                     and PREFIX/lib/dkrun in DIR's ld.so.conf: a flow image's newer dkrun
#                     (`dkrun build`), copied without a patched rpath, finds its libraries too
#                     when it is a dynamically linked one
# The C libraries dkrun links (Lua, libyaml, SQLite), libcurl, which it opens at its first HTTP
# request (libcurl4's libcurl.so.4), and libedit, which a terminal REPL opens (libedit2's
# libedit.so.2), come from Debian's packages
# (scripts/setup.sh on this machine; base-image.sh puts them in the image).
# Safe to run again: it replaces what it installed before.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

prefix=""; binary=""; wheelhouse=""; destdir=""
while (($#)); do
  case "$1" in
    --prefix|--binary|--wheelhouse|--destdir)
      (($# >= 2)) || { echo "install.sh: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$prefix" ] || { [ "$(id -u)" -eq 0 ] && prefix=/usr/local || prefix="$HOME/.local"; }
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
[ -z "$wheelhouse" ] || wheelhouse=$(cd "$wheelhouse" && pwd)
# An image has no CA for this machine's network, and should not: it installs offline.
[ -z "$destdir" ] || [ -n "$wheelhouse" ] || { echo "install.sh: --destdir needs --wheelhouse" >&2; exit 2; }

if [ -z "$binary" ]; then
  # One build at a time on this machine: other checkouts' builds and tests take the same lock.
  echo "install.sh: scripts/release-build.sh" >&2
  (cd "$repo" && flock /tmp/dkrun-build.lock scripts/release-build.sh >&2)
  binary="$(cd "$repo" && swift build -c release --show-bin-path)/dkrun"
fi
[ -x "$binary" ] || { echo "install.sh: $binary: not an executable" >&2; exit 2; }

root="$destdir$prefix"
echo "install.sh: installing into $root" >&2
mkdir -p "$root/bin" "$root/lib/dkrun" "$root/share/dkrun"

# The binary, and the Swift runtime libraries it links: every one ldd finds outside the
# system's library directories (Debian's packages bring those); none for a release build,
# which links them in (--static-swift-stdlib). The copy's rpath names them relative to
# itself, in place of the toolchain's directory.
install -m 755 "$binary" "$root/bin/dkrun"
rm -f "$root"/lib/dkrun/*.so*  # an earlier install's, which this binary may not link
ldd "$binary" | awk '$2 == "=>" && $3 !~ "^(/usr)?/lib" {print $3}' | while read -r lib; do
  install -m 644 "$lib" "$root/lib/dkrun/"
done
patchelf --set-rpath '$ORIGIN/../lib/dkrun' "$root/bin/dkrun"

rm -rf "$root/share/dkrun/stdlib" "$root/share/dkrun/python"
cp -R "$repo/stdlib" "$root/share/dkrun/stdlib"
mkdir -p "$root/share/dkrun/python"
cp -R "$repo/python/pyproject.toml" "$repo/python/runtime-requirements.txt" "$repo/python/dkrun_dask" "$root/share/dkrun/python/"
find "$root/share/dkrun/python" -name __pycache__ -prune -exec rm -rf {} +
install -m 755 "$repo/share/dkrun/entrypoint.sh" "$root/share/dkrun/entrypoint.sh"

mkdir -p "$root/share/bash-completion/completions" "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
"$binary" --generate-completion-script bash > "$root/share/bash-completion/completions/dkrun"
"$binary" --generate-completion-script zsh > "$root/share/zsh/site-functions/_dkrun"
"$binary" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/dkrun.fish"

# The bridge's virtualenv, made by the Python that will run it (the image's, with --destdir).
# In a chroot with an environment of its own: this machine's (PIP_CERT, PIP_FIND_LINKS, ...) is not the image's.
in_target() {
  if [ -z "$destdir" ]; then "$@"; return; fi
  chroot "$destdir" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}
venv="$prefix/lib/dkrun/venv"
pip_options=(-q --disable-pip-version-check)
if [ -n "$wheelhouse" ]; then
  # The wheelhouse holds the bridge as a wheel too (base-image.sh builds it): nothing to build here.
  found="$wheelhouse"
  if [ -n "$destdir" ]; then
    found=/tmp/dkrun-wheelhouse
    rm -rf "$destdir$found"; cp -R "$wheelhouse" "$destdir$found"
  fi
  pip_options+=(--no-index --find-links "$found")
  bridge=dkrun-dask
else
  # pip builds a project in its own folder: a copy, not share/dkrun/python, gets the leftovers.
  bridge=$(mktemp -d)
  trap 'rm -rf "$bridge"' EXIT
  cp -R "$root/share/dkrun/python/." "$bridge"
fi
[ -z "$destdir" ] || pip_options+=(--no-cache-dir)
echo "install.sh: the Python bridge's virtualenv, $venv" >&2
in_target python3 -m venv "$venv"
in_target "$venv/bin/pip" install "${pip_options[@]}" -r "$prefix/share/dkrun/python/runtime-requirements.txt"
in_target "$venv/bin/pip" install "${pip_options[@]}" --no-deps --force-reinstall "$bridge"
if [ -n "$destdir" ]; then
  rm -rf "${destdir:?}/tmp/dkrun-wheelhouse"
  mkdir -p "$destdir/etc/ld.so.conf.d"
  echo "$prefix/lib/dkrun" > "$destdir/etc/ld.so.conf.d/dkrun.conf"
  in_target ldconfig
fi

# What breaks an installed dkrun: a library it does not find, a bridge that does not import.
in_target "$prefix/bin/dkrun" --version >/dev/null
in_target "$venv/bin/python" -c 'import dkrun_dask.driver, bokeh'
echo "install.sh: installed dkrun $("$binary" --version) in $prefix" >&2
