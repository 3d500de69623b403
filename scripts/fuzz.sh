#!/usr/bin/env bash
# Fuzzes one of dkrun's decoders with libFuzzer: scripts/fuzz.sh TARGET SECONDS (0: build only).
#
# A target is a function in Tests/FuzzTests/Targets that feeds one input to the code under
# test, with its inputs in Tests/Fuzz/TARGET: corpus/ (the seeds, checked in; made by
# scripts/fuzz_seeds.py), TARGET.dict (libFuzzer's dictionary, where there is one),
# regressions/ (inputs that once crashed, run by `swift test`: FuzzTests) and crashes/ (what
# this script finds). The harness is built with swiftc, not SwiftPM: the modules once as static
# libraries with libFuzzer's coverage and AddressSanitizer, cached under .build/fuzz until a
# source changes, then one binary for every target (DKRUN_FUZZ_TARGET picks one). Only
# swift-crypto, which DKCore hashes with, is built by SwiftPM, uninstrumented. The fuzzer
# runs on the seeds and on what earlier runs found (.build/fuzz/TARGET/corpus), and goes on
# after a crash; each crash with a new stack is kept in crashes/ (minimized), the others are
# dropped. At the end: executions, failing inputs, and the stack of each crash kept. To rerun
# one:
#   SWIFT_BACKTRACE=enable=no DKRUN_FUZZ_TARGET=TARGET .build/fuzz/harness FILE
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz=Tests/Fuzz
out=.build/fuzz
harness=$out/harness
modules=(DKCore DKHTTP DKLua DKKube)  # in dependency order, as Package.swift has them

targets() { find "$fuzz" -mindepth 1 -maxdepth 1 -type d -printf '%f ' | sort; }

if [[ $# -ne 2 || ! -d "$fuzz/${1:-}/corpus" || ! "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS (targets: $(targets))" >&2
  exit 2
fi
target=$1
seconds=$2

# The C libraries' headers and module maps, and what to link.
pkgs=(lua5.4 yaml-0.1 libcurl sqlite3)
read -ra cflags <<<"$(pkg-config --cflags-only-I "${pkgs[@]}")"
read -ra libs <<<"$(pkg-config --libs "${pkgs[@]}")"
# swift-crypto (SHA-256 and HMAC in DKCore) is built by SwiftPM, in a build directory of its
# own, without the fuzzer's instrumentation: its code is not what the targets fuzz.
crypto=$out/crypto
crypto_sources=$crypto/checkouts/swift-crypto/Sources
swift_flags=(-swift-version 5 -O -g -parse-as-library "-sanitize=fuzzer,address" -I "$out/modules"
  -I "$crypto/release/Modules")
for dir in Sources/C*; do swift_flags+=(-I "$dir"); done
for flag in "${cflags[@]}"; do swift_flags+=(-Xcc "$flag"); done
for shim in CCryptoBoringSSL CCryptoBoringSSLShims CXKCP CXKCPShims; do
  swift_flags+=(-Xcc "-fmodule-map-file=$crypto_sources/$shim/include/module.modulemap" -Xcc "-I$crypto_sources/$shim/include")
done

# A digest of the files a build reads, to rebuild only when one changes.
digest() { find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }

# SwiftPM embeds DKLua's prelude in the binary as PackageResources; so does this.
embed_resources() {
  echo "struct PackageResources {"
  for file in Sources/DKLua/Prelude/*.lua; do
    name=$(basename "$file" | tr . _)
    printf 'static let %s: [UInt8] = [%s]\n' "$name" "$(od -An -v -tu1 "$file" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')"
  done
  echo "}"
}

build_crypto() {
  echo "fuzz: building swift-crypto (SwiftPM)" >&2
  nice swift build -c release --build-path "$crypto" --target Crypto >&2
}

# swift-crypto's objects, to link the harness with.
crypto_objects() {
  find "$crypto"/release/{Crypto,CryptoBoringWrapper,CCryptoBoringSSL,CCryptoBoringSSLShims,CXKCP,CXKCPShims}.build -name '*.o' | sort
}

build_modules() {
  local stamp=$out/modules/stamp key
  key=$(digest Sources/C* "${modules[@]/#/Sources/}")-$(sha256sum <<<"${swift_flags[*]}" | cut -c1-16)
  [[ -f $stamp && $(cat "$stamp") == "$key" ]] && return
  rm -rf "$out/modules"
  mkdir -p "$out/modules"
  embed_resources >"$out/modules/embedded_resources.swift"
  for module in "${modules[@]}"; do
    echo "fuzz: building $module" >&2
    local sources
    mapfile -t sources < <(find "Sources/$module" -name '*.swift' | sort)
    [[ $module == DKLua ]] && sources+=("$out/modules/embedded_resources.swift")
    # -enable-testing: the targets reach internals through @testable import, as tests do.
    nice swiftc "${swift_flags[@]}" -enable-testing -wmo -module-name "$module" \
      -emit-library -static -emit-module -o "$out/modules/lib$module.a" "${sources[@]}"
  done
  echo "$key" >"$stamp"
}

# One binary for every target, of the targets' files and an entry point that calls the target
# DKRUN_FUZZ_TARGET names.
build_harness() {
  local key
  key=$(cat "$out/modules/stamp")-$(digest Tests/FuzzTests/Targets)
  [[ -x $harness && -f $out/harness.stamp && $(cat "$out/harness.stamp") == "$key" ]] && return
  echo "fuzz: building the harness" >&2
  cat >"$out/entry.swift" <<'SWIFT'
#if canImport(Glibc)
import Glibc
#endif

private let target = getenv("DKRUN_FUZZ_TARGET").map { String(cString: $0) } ?? "(DKRUN_FUZZ_TARGET unset)"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.run(target, Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
SWIFT
  local link=(-use-ld=lld -L "$out/modules") objects
  for module in "${modules[@]}"; do link+=("-l$module"); done
  mapfile -t objects < <(crypto_objects)
  link+=("${objects[@]}")
  nice swiftc "${swift_flags[@]}" -module-name FuzzHarness Tests/FuzzTests/Targets/*.swift \
    "$out/entry.swift" "${link[@]}" "${libs[@]}" -o "$harness"
  echo "$key" >"$out/harness.stamp"
}

# What identifies a crash: the sanitizer's or libFuzzer's summary and one frame in dkrun's own
# code: the first (where it crashed; the frames below differ with the caller and the input's
# nesting) or, for a timeout, the last (the call that did not return); with no frame of
# dkrun's (a crash inside a C library, a failed check of the target), the first frames of all.
signature() {
  local - report=$1 frames
  set +o pipefail  # grep finds nothing, head stops early: still a signature
  frames=$(grep -E '^ +#[0-9]+ .* in .* /[^ ]*/Sources/' "$report" |
    sed -E 's/.* in (.*) \/[^ ]*\/(Sources\/[^ ]*):([0-9]+):.*/\1 \2:\3/')
  {
    grep -m1 '^SUMMARY:' "$report" | cut -d' ' -f2-3
    if grep -q '^SUMMARY: libFuzzer: timeout' "$report"; then
      tail -1 <<<"$frames"
    elif [[ -n $frames ]]; then
      head -1 <<<"$frames"
    else
      frames_of_all "$report" | head -3 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //'
    fi
  } | sha256sum | cut -c1-16
}

# The stack frames of a report, less the fuzzer's, the sanitizer's and the harness's own.
frames_of_all() {
  grep -E '^ +#[0-9]+ ' "$1" | sed '/FuzzTargets.run/,$d' | grep -vE 'compiler-rt/|libc\.so|__sanitizer' || true
}

# Runs the harness once on a file, the report (stack symbolized and demangled) into $2.
reproduce() {
  SWIFT_BACKTRACE=enable=no DKRUN_FUZZ_TARGET=$target "$harness" -timeout=10 "$1" </dev/null 2>&1 | swift demangle --simplified >"$2" || true
}

# Copies a crash to $3, made as small as libFuzzer can in 20 s while its signature stays $2.
# Timeouts and running out of memory are copied as they are: each try would take seconds.
minimize() {
  local small=$out/$target/minimized
  rm -f "$small"
  [[ $(basename "$1") == crash-* ]] || { cp "$1" "$3"; return; }
  SWIFT_BACKTRACE=enable=no DKRUN_FUZZ_TARGET=$target nice "$harness" -minimize_crash=1 -timeout=10 \
    -max_total_time=20 -exact_artifact_path="$small" "$1" </dev/null >/dev/null 2>&1 || true
  if [[ -s $small ]]; then
    reproduce "$small" "$out/$target/minimized.txt"
    if [[ $(signature "$out/$target/minimized.txt") == "$2" ]]; then
      cp "$small" "$3"
      return
    fi
  fi
  cp "$1" "$3"
}

run_fuzzer() {
  local dir=$out/$target inputs=$fuzz/$target
  rm -rf "$dir/found"
  mkdir -p "$dir/corpus" "$dir/found" "$inputs/crashes"
  # Forked, the fuzzer goes on after a crash, a timeout or running out of memory; each one
  # leaves its input in found/.
  local options=(-max_total_time="$seconds" -timeout=10 -fork=1 -ignore_crashes=1 -ignore_timeouts=1
    -ignore_ooms=1 -artifact_prefix="$dir/found/")
  [[ -f $inputs/$target.dict ]] && options+=(-dict="$inputs/$target.dict")
  echo "fuzz: fuzzing $target for $seconds s (log: $dir/log)" >&2
  # The Swift runtime's own crash reporter would race the sanitizer's: libFuzzer reports.
  SWIFT_BACKTRACE=enable=no DKRUN_FUZZ_TARGET=$target nice "$harness" "${options[@]}" "$dir/corpus" "$inputs/corpus" \
    </dev/null >"$dir/log" 2>&1 || true

  # The last of the forking fuzzer's periodic lines ("#EXECUTIONS: cov: ...").
  local executions
  executions=$(grep -E '^#[0-9]+: ' "$dir/log" | tail -1 | sed -E 's/^#([0-9]+):.*/\1/')

  # Keep each crash whose signature is new, with what crashes/ already holds.
  declare -A known=()
  local file report=$dir/report kept=() failures=0
  for file in "$inputs"/crashes/*; do
    [[ -f $file ]] || continue
    reproduce "$file" "$report"
    known[$(signature "$report")]=1
  done
  for file in "$dir"/found/*; do
    [[ -f $file ]] || continue
    failures=$((failures + 1))
    reproduce "$file" "$report"
    local sig
    sig=$(signature "$report")
    [[ -n ${known[$sig]:-} ]] && continue
    known[$sig]=1
    local name
    name=$(basename "$file")
    minimize "$file" "$sig" "$inputs/crashes/$name"
    kept+=("$inputs/crashes/$name")
    cp "$report" "$dir/$name.txt"
  done

  echo "fuzz: $target: ${executions:-0} executions in $seconds s, $failures failing inputs" \
    "(crashes, timeouts, out of memory), ${#kept[@]} with a new stack kept in $inputs/crashes" >&2
  for file in "${kept[@]}"; do
    echo "== $file" >&2
    report=$dir/$(basename "$file").txt
    grep -m1 '^SUMMARY:' "$report" >&2 || true
    grep -m1 'Fatal error:' "$report" | cut -c1-400 >&2 || true
    # The top of the stack and its bottom, where the call into dkrun's code is.
    frames_of_all "$report" | awk '{ line[NR] = $0 } END {
      for (i = 1; i <= NR; i++) if (i <= 8 || i > NR - 6) print line[i]; else if (i == 9) print "    ..." }' >&2
  done
}

build_crypto
build_modules
build_harness
# 0 seconds builds only (libFuzzer would take 0 as no limit).
if [[ $seconds -gt 0 ]]; then run_fuzzer; fi
