#!/usr/bin/env bash
# Builds the firmware workspace (device-agent/firmware) with Debian's rustc 1.96 and its std
# source (-Zbuild-std; rustup cannot add thumb targets here). See docs/toolchain.md.
# One cargo invocation per board: each board's features (cortex-m-rt's `device`, its critical
# section) must not leak into another's build.
# Usage: scripts/build-firmware.sh [board…]   (default: every board)
#        → <target dir>/<target>/release/<board>
#        scripts/build-firmware.sh --lean "<features>" <board>
#        → <target dir>/lean/<target>/release/<board>: a lean firmware for one impulse, with the
#          model $MOTE_LEAN_MODEL built in, buffers sized by $MOTE_LEAN_MEMORY and only the
#          kernel/DSP features given (e.g. "mote-runtime/conv mote-dsp/raw"); what
#          `mote deploy --export firmware` runs (pipeline/src/firmware.rs).
#        scripts/build-firmware.sh --portable <board>
#        → <target dir>/portable/<target>/release/<board>: the general agent with the portable
#          kernels instead of the packed Armv7E-M ones (the firmware bench's baseline).
set -euo pipefail
cd "$(dirname "$0")/../device-agent/firmware"
target_dir="${MOTE_FIRMWARE_TARGET_DIR:-target}"
features=()
if [ "${1:-}" = "--lean" ]; then
    [ $# -eq 3 ] || { echo "usage: $0 --lean \"<features>\" <board>" >&2; exit 2; }
    # Its own target dir: the general agent's binary stays where it is.
    target_dir="$target_dir/lean"
    features=(--no-default-features --features "lean $2")
    shift 2
elif [ "${1:-}" = "--portable" ]; then
    target_dir="$target_dir/portable"
    features=(--features mote-runtime/portable-kernels)
    shift
fi
build() { # board target
    env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
        CARGO_TARGET_DIR="$target_dir" \
        /usr/bin/cargo build --release --locked --quiet -p "$1" --target "$2" "${features[@]}"
}
declare -A targets=([qemu-mps2-an386]=thumbv7em-none-eabihf [microbit-v2]=thumbv7em-none-eabihf
                    [rp2040-pico]=thumbv6m-none-eabi)
boards=("$@")
[ ${#boards[@]} -gt 0 ] || boards=(qemu-mps2-an386 microbit-v2 rp2040-pico)
for board in "${boards[@]}"; do
    target="${targets[$board]:-}"
    if [ -z "$target" ]; then
        echo "unknown board \`$board\`; the boards are: ${!targets[*]}" >&2
        exit 2
    fi
    build "$board" "$target"
done
echo "firmware built: ${boards[*]}"
