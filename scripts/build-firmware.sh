#!/usr/bin/env bash
# Builds the firmware workspace (device-agent/firmware) with Debian's rustc 1.96 and its std
# source (-Zbuild-std; rustup cannot add thumb targets here). See ../shared/guide/toolchain.md.
# Usage: scripts/build-firmware.sh   → device-agent/firmware/target/<target>/release/<board>
set -euo pipefail
cd "$(dirname "$0")/../device-agent/firmware"
env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_DIR="${MOTE_FIRMWARE_TARGET_DIR:-target}" \
    /usr/bin/cargo build --release --locked --quiet
echo "firmware built: qemu-mps2-an386"
