#!/usr/bin/env bash
# Training speed against Keras (TF-CPU), same run, same data, same network and epochs: (a) a
# dense 40-20 on ≥ 3,000 windows of 42 statistics (7 classes), (b) a 1-D CNN 8-16 on ≥ 1,000 raw
# windows of 6 axes × 100 samples (4 classes). Both datasets are generated here (seeded). Mote
# runs as the run command builds it (the dev profile, burn's numeric crates optimised); Keras
# fits on the features Mote computed (`mote features --csv`). Prints one table: fit time, whole
# `mote train`, test accuracy, and Mote / Keras. A benchmark, not CI: it fails only when a step
# fails, never on a number.
#
# Usage: scripts/bench-training.sh   (MOTE_PEER_VENV: the Python venv, as scripts/bench-peers.sh)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${MOTE_PEER_VENV:-$HOME/.cache/mote/peer-venv}
pins=(tensorflow-cpu==2.21.0 keras==3.15.1 numpy==2.4.6 ai-edge-litert==2.3.0)
step() { printf '\n== %s\n' "$*" >&2; }
source "$repo/scripts/peers/venv.sh"

cd "$repo"
step "cargo build --workspace (the dev profile scripts/run.sh and the tests build)"
cargo build --quiet --locked --workspace
target_dir=$(cargo metadata --format-version 1 --no-deps |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mote="$target_dir/debug/mote"
work=$(mktemp -d "${TMPDIR:-/tmp}/mote-training.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

step "generating the datasets"
python3 - <<'PY'
import math, os, random

def dataset(folder, classes, per_class, seconds, rate, toml):
    os.makedirs(f"{folder}/data", exist_ok=True)
    rows = ["name,label,split,file"]
    axes = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]
    for label_idx, label in enumerate(classes):
        for n in range(per_class):
            name = f"{label}.{n:03d}"
            split = "test" if n % 5 == 0 else "train"
            # Each class: its own mix of two tones per axis; each sample varies amplitude,
            # frequency and phase, with noise, so the classes overlap a little.
            rng = random.Random(label_idx * 1000 + n)
            base = [0.4 + 0.25 * ((label_idx * 3 + a) % 7) for a in range(6)]
            amp = [rng.uniform(0.6, 1.4) * (1 + (label_idx + a) % 3) for a in range(6)]
            phase = [rng.uniform(0, 2 * math.pi) for _ in range(6)]
            lines = ["# mote-sample 1", "# sensor: imu", "# device: generated", f"# rate_hz: {rate}",
                     "# units: m/s2,m/s2,m/s2,dps,dps,dps", "# scales: 0.001,0.001,0.001,0.001,0.001,0.001",
                     ",".join(axes)]
            for i in range(int(seconds * rate)):
                t = i / rate
                values = []
                for a in range(6):
                    f = base[a] * rng.uniform(0.97, 1.03)
                    v = amp[a] * math.sin(2 * math.pi * f * t + phase[a]) + 0.5 * math.sin(2 * math.pi * 2.3 * f * t)
                    values.append(int(1000 * (v + rng.gauss(0, 0.6))))
                lines.append(",".join(map(str, values)))
            open(f"{folder}/data/{name}.csv", "w").write("\n".join(lines) + "\n")
            rows.append(f"{name},{label},{split},data/{name}.csv")
    open(f"{folder}/samples.csv", "w").write("\n".join(rows) + "\n")
    open(f"{folder}/mote.toml", "w").write(toml)

header = '[data]\nsensor = "imu"\naxes = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]\nlabels = []\n'
# (a) 7 classes × 60 samples of 10 s at 50 Hz, 2 s windows every 1 s: 3,780 windows × 42 features.
dataset("dense", [f"class{c}" for c in range(7)], 60, 10, 50,
        '[project]\nname = "dense"\nseed = 42\n\n' + header + 'rate_hz = 50.0\n\n[window]\nlength_ms = 2000\nstride_ms = 1000\n\n'
        '[dsp]\nblock = "flatten"\nstats = ["mean", "std", "min", "max", "rms", "skewness", "kurtosis"]\n\n'
        '[learn]\nblock = "dense"\nhidden = [40, 20]\nepochs = 100\n')
# (b) 4 classes × 64 samples of 14 s at 10 Hz, 10 s windows every 1 s: 1,280 raw windows of 6 × 100.
dataset("cnn", [f"class{c}" for c in range(4)], 64, 14, 10,
        '[project]\nname = "cnn"\nseed = 42\n\n' + header + 'rate_hz = 10.0\n\n[window]\nlength_ms = 10000\nstride_ms = 1000\n\n'
        '[dsp]\nblock = "raw"\n\n[learn]\nblock = "conv1d"\nfilters = [8, 16]\nepochs = 50\n')
PY

run() { # name, keras arguments…
    local name=$1
    shift
    "$mote" init --project "p-$name" >/dev/null
    "$mote" import --project "p-$name" "$name" >/dev/null
    local started ended
    started=$(date +%s.%N)
    "$mote" --json train --project "p-$name" >"$name-train.json"
    ended=$(date +%s.%N)
    python3 -c "print($ended - $started)" >"$name-wall.txt"
    "$mote" features --project "p-$name" --csv "$name-features.csv" >/dev/null
    step "Keras: $name"
    "$venv/bin/python" "$repo/scripts/peers/keras_fit.py" --features "$name-features.csv" "$@" >"$name-keras.json"
}
step "Mote: dense"
run dense --hidden 40,20 --epochs 100
step "Mote: cnn"
run cnn --filters 8,16 --channels 6 --epochs 50

"$venv/bin/python" - <<'PY'
import json
print()
print("| case | windows (train / test) | Mote fit | Keras fit | Mote / Keras | `mote train` whole | accuracy Mote / Keras (float) |")
print("|---|---|---|---|---|---|---|")
for name, case in [("dense", "(a) dense 40-20, 42 statistics, 7 classes, 100 epochs"),
                   ("cnn", "(b) 1-D CNN 8-16 on 6 × 100 raw, 4 classes, 50 epochs")]:
    mote = json.load(open(f"{name}-train.json"))
    keras = json.load(open(f"{name}-keras.json"))
    wall = float(open(f"{name}-wall.txt").read())
    print(f"| {case} | {mote['train_windows']} / {mote['test']['total']} | {mote['fit_seconds']:.1f} s | "
          f"{keras['fit_seconds']:.1f} s | {mote['fit_seconds'] / keras['fit_seconds']:.2f}× | {wall:.1f} s | "
          f"{mote['test']['top1_accuracy']:.3f} / {keras['test_accuracy']:.3f} |")
print()
print(f"Keras {keras['keras']}, TensorFlow {keras['tensorflow']} (CPU, {keras['threads']} threads)")
PY
