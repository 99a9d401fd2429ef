#!/usr/bin/env bash
# Builds every no_std crate for the two microcontroller targets with Debian's Rust toolchain
# (rustup cannot download thumb targets here; Debian ships the std source, so -Zbuild-std works).
# See docs/toolchain.md. Usage: scripts/check-nostd.sh
set -euo pipefail
cd "$(dirname "$0")/.."

NOSTD_CRATES=(mote-wire mote-agent mote-dsp mote-runtime)
TARGETS=(thumbv6m-none-eabi thumbv7em-none-eabihf)

packages=()
for crate in "${NOSTD_CRATES[@]}"; do packages+=(-p "$crate"); done

for target in "${TARGETS[@]}"; do
    echo "no_std build: ${NOSTD_CRATES[*]} for $target"
    # Debian's cargo and rustc (1.96) with their own std source; RUSTC_BOOTSTRAP enables -Z flags.
    env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc \
        RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="${MOTE_THUMB_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/thumb}" \
        /usr/bin/cargo build --release --locked --quiet -Zbuild-std=core "${packages[@]}" --target "$target"
done
echo "no_std builds ok"
