#!/usr/bin/env bash
# Peer benchmark: Mote against Keras + LiteRT on BasicMotions. A benchmark for people to run and
# read, not part of CI; it fails only when a step fails, never on a number.
#
# Trains the BasicMotions preset's network (dense 30-16-4) with Mote and the same network and
# training setup in Keras, quantizes both to int8 with post-training quantization on the same
# calibration rows (every training window), and prints one table: float and int8 test accuracy,
# model size, host latency per window (mote-runtime vs the LiteRT interpreter) and training time,
# with the ratio Mote / peer. The Keras side is scripts/peers/keras_litert.py.
#
# Installs what it needs, once: a Python venv at $MOTE_PEER_VENV (default
# ~/.cache/mote/peer-venv) with the pinned packages below (pip runs only when a pin is missing
# or differs), and Mote's pieces with cargo (-j1; respects CARGO_TARGET_DIR).
#
# Usage: scripts/bench-peers.sh
# Environment:
#   MOTE_PEER_VENV     the venv folder
#   MOTE_PEER_PYTHON   the Python that creates the venv [default: the first of python3,
#                      python3.12, python3.11, python3.10, python3.13 that tensorflow-cpu supports]
#   MOTE_PEER_JSON     also write the table and versions as JSON to this file
#   MOTE_PEER_KEEP=1   keep the work folder (project, features CSV, blob) and print its path
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${MOTE_PEER_VENV:-$HOME/.cache/mote/peer-venv}

# The pins. tensorflow-cpu 2.21.0 has wheels for CPython 3.10-3.13 on x86_64 Linux; keras and
# ai-edge-litert (the LiteRT interpreter; tf.lite.Interpreter is deprecated) are pinned too so a
# rerun trains and runs with the same code.
pins=(tensorflow-cpu==2.21.0 keras==3.15.1 numpy==2.4.6 ai-edge-litert==2.3.0)

now() { date +%s.%N; }
seconds_since() { awk -v from="$1" -v to="$(now)" -v digits="${2:-1}" 'BEGIN { printf "%.*f", digits, to - from }'; }
started=$(now)
step() { printf '\n== [%s s] %s\n' "$(seconds_since "$started")" "$*" >&2; }
invoked_from=$PWD

# ---- Python venv ----------------------------------------------------------------------------------
source "$repo/scripts/peers/venv.sh"

# ---- Mote ---------------------------------------------------------------------------------------
# cargo reads a relative CARGO_TARGET_DIR from its working directory; take it from the caller's.
if [[ -n "${CARGO_TARGET_DIR:-}" && "$CARGO_TARGET_DIR" != /* ]]; then
    export CARGO_TARGET_DIR="$invoked_from/$CARGO_TARGET_DIR"
fi
cd "$repo"
# Where cargo puts the binaries (CARGO_TARGET_DIR, a config's target-dir, or target/).
target_dir=$(cargo metadata --format-version 1 --no-deps |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

step "cargo build -p mote-cli (debug: the mote CLI)"
cargo build -j1 -p mote-cli
step "cargo build --release -p mote-runtime --example classify_csv"
cargo build -j1 --release -p mote-runtime --example classify_csv
mote="$target_dir/debug/mote"
classify="$target_dir/release/examples/classify_csv"
mote_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    mote_rev="$mote_rev (with uncommitted changes)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mote-peers.XXXXXX")
if [[ "${MOTE_PEER_KEEP:-}" == 1 ]]; then
    echo "work folder (kept): $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi
project="$work/project"

step "Mote: init, import BasicMotions, train"
"$mote" init --project "$project" >/dev/null
"$mote" import --project "$project" "$repo/datasets/basic-motions" >/dev/null
train_started=$(now)
"$mote" --json train --project "$project" >"$work/train.json"
train_wall=$(seconds_since "$train_started" 3)
echo "mote train: ${train_wall} s" >&2

step "Mote: features CSV, blob, host inference (classify_csv)"
"$mote" features --project "$project" --csv "$work/features.csv" >/dev/null
"$mote" deploy --project "$project" --export blob --out "$work/deploy" >/dev/null
"$classify" "$work/deploy/model.mote" "$work/features.csv" test >"$work/classify.json"
cat "$work/classify.json" >&2

step "Keras + LiteRT"
json_out=()
if [[ -n "${MOTE_PEER_JSON:-}" ]]; then
    case "$MOTE_PEER_JSON" in
        /*) json_out=(--json-out "$MOTE_PEER_JSON") ;;
        *) json_out=(--json-out "$invoked_from/$MOTE_PEER_JSON") ;;
    esac
fi
"$venv/bin/python" "$repo/scripts/peers/keras_litert.py" \
    --features "$work/features.csv" \
    --mote-train-json "$work/train.json" \
    --mote-train-wall "$train_wall" \
    --mote-runtime-json "$work/classify.json" \
    --mote-rev "$mote_rev" \
    "${json_out[@]}"

echo >&2
echo "bench-peers.sh took $(seconds_since "$started") s" >&2
