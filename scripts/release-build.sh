#!/usr/bin/env bash
# Builds dkrun for release: every release build runs this (scripts/setup.sh, install.sh,
# base-image.sh, and by hand), since a build with other flags compiles every module again.
#   scripts/release-build.sh [SWIFT-BUILD-OPTION...]
# What each flag saves in a cold start: docs/performance.md (Release builds, Cold start).
set -euo pipefail
cd "$(dirname "$0")/.."

# libstdc++ linked in, as the Swift runtime is: the linker looks in this directory, which holds
# only libstdc++'s static archive, before the one where the shared library is.
libstdcxx=.build/static-libstdc++
archive=$(clang -print-file-name=libstdc++.a)
[ -f "$archive" ] || { echo "release-build.sh: no libstdc++.a (install libstdc++-12-dev)" >&2; exit 1; }
mkdir -p "$libstdcxx"
ln -sf "$archive" "$libstdcxx/libstdc++.a"

flags=(
  -c release --product dkrun
  # The Swift runtime and FoundationEssentials linked in.
  --static-swift-stdlib
  # Every module, ArgumentParser's and swift-crypto's too, makes the metadata of a concrete
  # generic type with its accessor (Package.swift gives the flag to dkrun's own targets only).
  -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
  -Xlinker -L"$PWD/$libstdcxx"
)
exec swift build "${flags[@]}" "$@"
