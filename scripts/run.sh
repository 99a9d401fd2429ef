#!/usr/bin/env bash
# Mote's main job: builds and launches Mote Studio, the desktop app. On first launch it offers
# the built-in virtual board, so the whole loop works with no hardware.
# Usage: scripts/run.sh   (scripts/run.sh --tour runs the CLI tour against a virtual board instead)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh run
export PATH="$HOME/.cargo/bin:$PATH"

if [ "${1:-}" = "--tour" ]; then
    exec scripts/tour.sh
fi
(cd ui && npm run --silent build)
cargo build --quiet --locked --bin mote-studio
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]+)".*/\1/')
# The C library the C/Arduino exports carry, for every core (a few minutes the first time; then
# only when the runtime or DSP sources change).
echo "building the C library for the model exports (scripts/build-clib.sh)"
scripts/build-clib.sh >/dev/null
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    echo "No display found (DISPLAY/WAYLAND_DISPLAY unset): Mote Studio needs a desktop session." >&2
    echo "Without one, try the command-line tour: scripts/run.sh --tour" >&2
    exit 1
fi
exec "$target_dir/debug/mote-studio"
