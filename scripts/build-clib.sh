#!/usr/bin/env bash
# Builds libmote.a, the C library over Mote's runtime and DSP (device-agent/capi), for every core
# Mote ships it for, with Debian's rustc and -Zbuild-std (docs/toolchain.md), and puts each one
# where exports copy them from (mote_pipeline::export::prebuilt):
#   <out>/<core>/libmote.a   out = $MOTE_CLIB_DIR, else <firmware target dir>/mote-clib
# Usage: scripts/build-clib.sh [core…]   (default: every core)
set -euo pipefail
cd "$(dirname "$0")/../device-agent/firmware"
target_dir="${MOTE_FIRMWARE_TARGET_DIR:-$PWD/target}"
out="${MOTE_CLIB_DIR:-$target_dir/mote-clib}"

# core → rust target [extra rustc flags]. The soft-float-ABI Cortex-M4 build keeps the FPU
# (softfp, what the Arduino Mbed cores compile with).
declare -A targets=(
    [cortex-m0plus]=thumbv6m-none-eabi
    [cortex-m4f]=thumbv7em-none-eabihf
    [cortex-m4f-softfp]=thumbv7em-none-eabi
    [cortex-m33]=thumbv8m.main-none-eabihf
    [rv32imc]=riscv32imc-unknown-none-elf
    [x86_64-linux]=x86_64-unknown-linux-gnu
)
declare -A rustflags=([cortex-m4f-softfp]="-C target-cpu=cortex-m4")
cores=("$@")
[ ${#cores[@]} -gt 0 ] || cores=(cortex-m0plus cortex-m4f cortex-m4f-softfp cortex-m33 rv32imc x86_64-linux)
for core in "${cores[@]}"; do
    target="${targets[$core]:-}"
    if [ -z "$target" ]; then
        echo "unknown core \`$core\`; the cores are: ${!targets[*]}" >&2
        exit 2
    fi
    # No debug info in what ships; the library is its own build (its profile differs from the
    # firmware's), in its own target dir so the two never rebuild each other.
    env -u RUSTUP_TOOLCHAIN -u RUSTFLAGS PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc \
        RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir/clib" CARGO_PROFILE_RELEASE_DEBUG=false \
        CARGO_ENCODED_RUSTFLAGS="$(printf '%s' "${rustflags[$core]:-}" | tr ' ' '\037')" \
        /usr/bin/cargo build --release --locked --quiet -p mote-capi --target "$target" \
            -Zbuild-std=core,compiler_builtins -Zbuild-std-features=compiler-builtins-mem
    mkdir -p "$out/$core"
    cp -p "$target_dir/clib/$target/release/libmote.a" "$out/$core/libmote.a.new"
    mv "$out/$core/libmote.a.new" "$out/$core/libmote.a"
done
echo "C library built for: ${cores[*]} → $out"
