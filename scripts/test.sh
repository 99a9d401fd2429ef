#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds the no_std crates for the boards, checks
# that the fuzz target builds, then runs every test of the workspace. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
export PATH="$HOME/.cargo/bin:$PATH"

started=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - started )) s)"; }

# A cold run writes about 8 GB (host debug build, firmware, thumb and fuzz builds); say so up front
# rather than failing on "No space left on device" halfway through.
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
mkdir -p "$target_dir"
free_gb=$(df -Pk "$target_dir" | awk 'NR == 2 { print int($4 / 1048576) }')
echo "target dir $target_dir: ${free_gb} GB free on its disk (a cold run needs about 8 GB)"
if (( free_gb < 2 )); then
    echo "not enough disk space for the build: free some space or point CARGO_TARGET_DIR elsewhere" >&2
    exit 1
fi

step "the repository stands alone (no tracked file reads the shared folder beside the clone)"
# The pattern is escaped so that this file does not match itself.
if outside=$(git grep -nE '\.\./shared|MOTE_SHARED[_]DIR' -- scripts tests pipeline device-agent src-tauri ui .ci \
             Cargo.toml ':!*.md' 2>/dev/null); then
    echo "these tracked files refer to a folder beside the clone, which a user's clone does not have:" >&2
    echo "$outside" >&2
    exit 1
fi

step "no_std crates for thumbv6m-none-eabi and thumbv7em-none-eabihf"
scripts/check-nostd.sh

step "runtime and DSP code size for thumbv7em (the flash estimates' figures are current)"
scripts/measure-code-size.sh --check

step "firmware: the emulated Cortex-M4F (QEMU mps2-an386), micro:bit v2, Pico"
MOTE_FIRMWARE_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/firmware" scripts/build-firmware.sh
export MOTE_FIRMWARE_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/firmware"

step "the C library (libmote.a) for Cortex-M0+, M4F (hard and softfp), M33, RV32IMC and x86-64"
scripts/build-clib.sh

step "the fuzz targets build (frame decoder, model-blob parser, importers and bundle lock)"
for fuzz in device-agent/wire/fuzz device-agent/runtime/fuzz pipeline/formats/fuzz; do
    cargo build --quiet --locked --manifest-path "$fuzz/Cargo.toml" --target-dir "${CARGO_TARGET_DIR:-target}/fuzz"
done

step "the CLI builds without the GUI's system libraries"
if cargo tree --locked -p mote-cli -e normal --prefix none | grep -qE '^(tauri|wry|webkit2gtk|gtk|javascriptcore-rs) '; then
    echo "mote-cli (the mote CLI) depends on a GUI crate" >&2
    exit 1
fi

step "the app uses the engine (mote-pipeline) and no other Mote crate directly"
direct=$(cargo tree --locked -p mote-studio -e normal --depth 1 --prefix none | grep -E '^mote-' | grep -vE '^mote-(studio|pipeline) ' || true)
if [ -n "$direct" ]; then
    echo "mote-studio depends directly on: $direct — reach it through mote-pipeline (ARCHITECTURE.md)" >&2
    exit 1
fi

step "the interface (type check and build)"
(cd ui && npm run --silent check && npm run --silent build)

step "cargo build --workspace (the end-to-end tests run the binaries)"
cargo build --workspace --locked

step "cargo test --workspace --no-fail-fast (every test binary runs even when one fails)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
echo "finished in $(( $(date +%s) - started )) s"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
