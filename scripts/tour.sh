#!/usr/bin/env bash
# A short tour of the mote CLI against a virtual board:
# start the board, list devices, stream a gesture with live statistics, save it as CSV.
# Usage: scripts/tour.sh (or scripts/run.sh --tour)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --quiet --locked --bin mote
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]+)".*/\1/')
mote="$target_dir/debug/mote"

echo "== a virtual board performing: idle 3 s, wave 4 s, shake 3 s (repeating)"
"$mote" sim --script "idle:3s,wave:4s,shake:3s" --device-id tour-board > /tmp/mote-tour-sim.txt &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "virtual board" /tmp/mote-tour-sim.txt 2>/dev/null && break; sleep 0.1; done
head -1 /tmp/mote-tour-sim.txt
port=$(head -1 /tmp/mote-tour-sim.txt | awk '{print $NF}')

echo; echo "== mote devices"
"$mote" devices

echo; echo "== mote stream --port $port --sensor imu --rate 100 --seconds 5 --csv "${TMPDIR:-/tmp}/gesture.csv""
"$mote" stream --port "$port" --sensor imu --rate 100 --seconds 5 --csv "${TMPDIR:-/tmp}/gesture.csv"
echo; head -4 "${TMPDIR:-/tmp}/gesture.csv"
echo; echo "Next: 'mote --help'. The virtual board stops when this script ends."
