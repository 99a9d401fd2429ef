#!/usr/bin/env bash
# Flash taken by the int8 runtime and the DSP blocks on a Cortex-M4F: builds mote-runtime (with
# mote-dsp) for thumbv7em-none-eabihf at opt-level "s" and "z" with Debian's toolchain and sums
# the .text and .rodata of each crate's objects (arm-none-eabi-size). These are upper bounds:
# a firmware that links with --gc-sections drops what it never calls (e.g. DSP blocks a model
# does not use).
# Usage: scripts/measure-code-size.sh          print the figures for "s" and "z"
#        scripts/measure-code-size.sh --check  fail when the "s" figures differ by more than 10 %
#                                             from the constants the estimates use (estimate.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
dir="${MOTE_THUMB_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/thumb}-size"
check=false
levels=(s z)
if [[ "${1:-}" == "--check" ]]; then
    check=true
    levels=(s)
fi
constant() {
    grep -E "^pub const $1: u64 = " pipeline/convert/src/estimate.rs | sed -E 's/.*= ([0-9_]+);/\1/; s/_//g'
}
status=0
for level in "${levels[@]}"; do
    env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc \
        RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$dir-$level" CARGO_PROFILE_RELEASE_OPT_LEVEL="$level" \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
        /usr/bin/cargo build --release --locked --quiet -Zbuild-std=core -p mote-runtime --target "$target"
    for crate in mote_runtime mote_dsp; do
        rlib=$(ls -t "$dir-$level/$target/release/deps/lib${crate}-"*.rlib | head -1)
        bytes=$(arm-none-eabi-size -A "$rlib" 2>/dev/null |
            awk '$1 == ".text" || $1 ~ /^\.text\./ || $1 ~ /^\.rodata/ { sum += $2 } END { print sum + 0 }')
        echo "opt-level=$level $crate: $bytes bytes (.text + .rodata)"
        if $check; then
            name=$([[ $crate == mote_runtime ]] && echo RUNTIME_CODE_BYTES || echo DSP_CODE_BYTES)
            expected=$(constant "$name")
            if (( bytes * 10 < expected * 9 || bytes * 10 > expected * 11 )); then
                echo "  $name in pipeline/convert/src/estimate.rs is $expected: update it to $bytes" >&2
                status=1
            fi
        fi
    done
done
exit $status
