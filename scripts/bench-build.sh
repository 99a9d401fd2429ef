#!/usr/bin/env bash
# Wall time of `mote build` (debug-built CLI, as the tests use it) on two bundles: BasicMotions
# (80 windows) and a generated set of 21,840 windows (4 classes × 60 samples × 91 windows of a
# 3-axis signal at 100 Hz). A benchmark, not CI. Usage: scripts/bench-build.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --quiet -p mote-cli --bin mote
mote="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/mote"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$mote" init --project bm >/dev/null
"$mote" import --project bm "$repo/datasets/basic-motions" >/dev/null
"$mote" export --project bm --out bm-bundle >/dev/null
start=$(date +%s.%N)
"$mote" build bm-bundle --out bm-artifacts >/dev/null
bm=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")

# A generated dataset: each class a different mix of sines plus noise, 10 s per sample.
python3 - <<'PY'
import math, os, random
random.seed(7)
os.makedirs("big/data", exist_ok=True)
rows = ["name,label,split,file"]
for label_idx, label in enumerate(["alpha", "beta", "gamma", "delta"]):
    for n in range(60):
        name = f"{label}.{n:02d}"
        split = "test" if n % 5 == 0 else "train"
        freq = 0.5 + label_idx * 0.7 + random.uniform(-0.1, 0.1)
        lines = ["# mote-sample 1", "# sensor: accel", "# device: generated", "# rate_hz: 100",
                 "# units: m/s2,m/s2,m/s2", "# scales: 0.001,0.001,0.001", "accX,accY,accZ"]
        for i in range(1000):
            t = i / 100
            vals = [int(4000 * math.sin(2 * math.pi * freq * t + a) + random.gauss(0, 300)) for a in range(3)]
            lines.append(",".join(map(str, vals)))
        open(f"big/data/{name}.csv", "w").write("\n".join(lines) + "\n")
        rows.append(f"{name},{label},{split},data/{name}.csv")
open("big/samples.csv", "w").write("\n".join(rows) + "\n")
open("big/mote.toml", "w").write("""[project]
name = "generated"
seed = 42

[data]
sensor = "accel"
axes = ["accX", "accY", "accZ"]
rate_hz = 100.0
labels = []

[window]
length_ms = 1000
stride_ms = 100

[dsp]
block = "flatten"

[learn]
block = "dense"
hidden = [20, 10]
epochs = 30
""")
PY
"$mote" init --project big-project >/dev/null
"$mote" import --project big-project big >/dev/null
windows=$("$mote" --json features --project big-project | python3 -c 'import json,sys; print(json.load(sys.stdin)["windows"])')
"$mote" export --project big-project --out big-bundle >/dev/null
start=$(date +%s.%N)
"$mote" build big-bundle --out big-artifacts >/dev/null
big=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
accuracy=$(python3 -c 'import json; m=json.load(open("big-artifacts/metrics.json"))["metrics"]; print(m["accuracy"], m["int8_accuracy"])')

echo "mote build, BasicMotions (80 windows):        ${bm} s"
echo "mote build, generated set (${windows} windows): ${big} s  (float / int8 test accuracy: ${accuracy})"
