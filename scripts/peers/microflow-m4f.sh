#!/usr/bin/env bash
# Peer benchmark on the emulated Cortex-M4F: the microflow crate (0.1.3) running the three networks
# of Mote's firmware bench (dense 42-30-16-4, 1-D CNN, depthwise-separable CNN; int8), measured
# as tests/bench/firmware.rs measures Mote: QEMU mps2-an386 with `-icount shift=0` (one instruction
# per virtual ns) and SysTick at 25 MHz around each `predict`, flash from `arm-none-eabi-size -A`
# and `arm-none-eabi-nm`, the stack's high-water mark from memory painted at boot.
# A benchmark for people to run and read; it fails only when a step fails, never on a number.
#
# Steps (each idempotent):
#   1. the peer venv (scripts/peers/venv.sh; ~/.cache/mote/peer-venv),
#   2. the .tflite files: scripts/peers/tflite_models.py → device-agent/peers/microflow-m4f/models/
#      (regenerated when missing or older than the script),
#   3. the firmware (device-agent/peers/microflow-m4f, its own cargo workspace) with Debian's
#      rustc 1.96 and -Zbuild-std, nice'd and -j1, into $MOTE_PEER_FW_TARGET,
#   4. each network's binary in QEMU; the harness-only `baseline` binary too (its flash and stack
#      are what every binary shares).
#
# Usage: scripts/peers/microflow-m4f.sh <out-folder>
#   writes <out-folder>/microflow-<network>.json per network and <out-folder>/microflow-m4f.json
#   (all three, a JSON array, also printed on stdout); a table goes to stderr.
# Environment:
#   MOTE_PEER_VENV       the venv folder [~/.cache/mote/peer-venv]
#   MOTE_PEER_FW_TARGET  cargo's target folder for the firmware [~/.cache/mote/peer-fw-target]
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 <out-folder>" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
fw="$repo/device-agent/peers/microflow-m4f"
venv=${MOTE_PEER_VENV:-$HOME/.cache/mote/peer-venv}
target_dir=${MOTE_PEER_FW_TARGET:-$HOME/.cache/mote/peer-fw-target}
networks=(dense cnn dscnn)
# As scripts/bench-peers.sh (venv.sh installs these when missing or different).
pins=(tensorflow-cpu==2.21.0 keras==3.15.1 numpy==2.4.6 ai-edge-litert==2.3.0)

now() { date +%s.%N; }
seconds_since() { awk -v from="$1" -v to="$(now)" 'BEGIN { printf "%.1f", to - from }'; }
started=$(now)
step() { printf '\n== [%s s] %s\n' "$(seconds_since "$started")" "$*" >&2; }

for tool in qemu-system-arm arm-none-eabi-size arm-none-eabi-nm /usr/bin/cargo /usr/bin/rustc; do
    command -v "$tool" >/dev/null || { echo "$tool not found (see docs/toolchain.md)" >&2; exit 1; }
done

# ---- 1. Python venv -------------------------------------------------------------------------------
source "$repo/scripts/peers/venv.sh"
python="$venv/bin/python"

# ---- 2. the .tflite files ------------------------------------------------------------------------
models="$fw/models"
generator="$repo/scripts/peers/tflite_models.py"
fresh=1
for file in models.json "${networks[@]/%/.tflite}" "${networks[@]/%/_input.rs}"; do
    [[ -f "$models/$file" && "$models/$file" -nt "$generator" ]] || fresh=0
done
if [[ $fresh == 1 ]]; then
    step "models: up to date in $models"
else
    step "models: train, quantize (int8), convert → $models"
    nice -n 19 "$python" "$generator" "$models" 2> >(grep -E '^(dense|cnn|dscnn):|Error|error:' >&2)
fi

# ---- 3. the firmware ----------------------------------------------------------------------------
step "firmware: cargo build --release --bins (Debian's rustc, -Zbuild-std) → $target_dir"
(cd "$fw" && env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc \
    RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" \
    nice -n 19 /usr/bin/cargo build --release --locked --quiet -j1 --bins --target thumbv7em-none-eabihf)
elves="$target_dir/thumbv7em-none-eabihf/release"

# ---- 4. QEMU ------------------------------------------------------------------------------------
for binary in baseline "${networks[@]}"; do
    step "QEMU mps2-an386 -icount shift=0: $binary"
    timeout 300 qemu-system-arm -M mps2-an386 -display none -monitor none -serial none \
        -icount shift=0 -semihosting-config enable=on,target=native \
        -kernel "$elves/$binary" >"$out/microflow-$binary.log"
    cat "$out/microflow-$binary.log" >&2
    arm-none-eabi-size -A "$elves/$binary" >"$out/microflow-$binary.size"
    arm-none-eabi-nm --print-size --size-sort --demangle "$elves/$binary" >"$out/microflow-$binary.nm"
done

step "figures → $out"
microflow_version=$(sed -n '/^name = "microflow"$/{n;s/version = "\(.*\)"/\1/p}' "$fw/Cargo.lock")
"$python" - "$out" "$models/models.json" "$microflow_version" "${networks[@]}" <<'EOF'
import json
import re
import sys
from pathlib import Path

out, models_json, version, networks = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
models = json.loads(Path(models_json).read_text())
DESCRIPTION = {
    "dense": "dense 42 → 30 ReLU → 16 ReLU → 4 softmax",
    "cnn": "1-D CNN (1, 100, 6) → conv 8 k3 ReLU → avg-pool 2 → conv 16 k3 ReLU → avg-pool 2 → "
    "dense 4",
    "dscnn": "depthwise-separable CNN (1, 100, 6) → [dw k3, pw 8 ReLU] → avg-pool 2 → "
    "[dw k3, pw 16 ReLU] → avg-pool 2 → dense 4",
}
# The code that is microflow's: the function `predict` is inlined into, and what microflow's code
# calls by name (nalgebra/simba generics, libm's expf for softmax).
MICROFLOW_CODE = ("microflow::", "nalgebra::", "simba::", "libm::")


def parse_line(binary):
    text = (out / f"microflow-{binary}.log").read_text()
    line = next((l for l in text.splitlines() if l.startswith(f"peer microflow {binary} ")), None)
    if line is None:
        sys.exit(f"{binary}: no result line in QEMU's output:\n{text}")
    fields = dict(re.findall(r"(\w+)=(\[[^\]]*\]|\S+)", line))
    return {
        "runs": [int(n) for n in fields["instructions"].split(",")],
        "macs": int(fields["macs"]),
        "stack": int(fields["stack"]),
        "output": [float(v) for v in fields["output"].strip("[]").split(",")],
    }


def sections(binary):
    sizes = {}
    for line in (out / f"microflow-{binary}.size").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def symbols(binary):
    """(size, kind, demangled name) of every sized symbol."""
    found = []
    for line in (out / f"microflow-{binary}.nm").read_text().splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            found.append((int(parts[1], 16), parts[2], parts[3]))
    return found


def anon_hashes(found):
    return {name.split(".")[2] for _, _, name in found if name.startswith(".Lanon.")}


baseline = parse_line("baseline")
baseline_sections = sections("baseline")
baseline_anon = anon_hashes(symbols("baseline"))
flash = lambda s: s.get(".text", 0) + s.get(".rodata", 0) + s.get(".data", 0)

results = []
for network in networks:
    measured = parse_line(network)
    sizes = sections(network)
    split = {"microflow code": 0, "model data": 0, "fixed input": 0}
    for size, kind, name in symbols(network):
        if kind in "tT":
            bare = name.lstrip("<")
            if bare.startswith(MICROFLOW_CODE) or name == f"{network}::microflow_predict":
                split["microflow code"] += size
        elif kind in "rRdD":
            if name.endswith("::input::INPUT"):
                split["fixed input"] += size
            elif name.startswith(".Lanon.") and name.split(".")[2] not in baseline_anon:
                # Constants of the network's own crate: the weights, biases and requantization
                # constants microflow's macro generated (the harness-only binary has none).
                split["model data"] += size
    total = flash(sizes)
    split["rest (harness, semihosting, core, cortex-m-rt)"] = total - sum(split.values())
    runs = sorted(measured["runs"])
    median = runs[len(runs) // 2]
    info = models[network]
    assert measured["macs"] == info["macs"], (network, measured["macs"], info["macs"])
    result = {
        "engine": f"microflow {version}",
        "network": network,
        "description": DESCRIPTION.get(network, network),
        "target": "QEMU mps2-an386 (Cortex-M4F), -icount shift=0, SysTick at 25 MHz",
        "instructions": median,
        "instructions_runs": measured["runs"],
        "macs": measured["macs"],
        "instructions_per_mac": round(median / measured["macs"], 2),
        "flash": total,
        "flash_split": split,
        "flash_over_baseline": total - flash(baseline_sections),
        "sections": {k: v for k, v in sizes.items() if not k.startswith((".debug", ".comment", ".ARM"))},
        "static_ram": sizes.get(".data", 0) + sizes.get(".bss", 0),
        "stack": measured["stack"],
        "stack_baseline": baseline["stack"],
        "output": measured["output"],
        "litert_output": info["litert_output"],
        "ops": info["ops"],
        "tflite_bytes": info["tflite_bytes"],
        "int8_test_accuracy": info["int8_test_accuracy"],
    }
    (out / f"microflow-{network}.json").write_text(json.dumps(result, indent=2) + "\n")
    results.append(result)

(out / "microflow-m4f.json").write_text(json.dumps(results, indent=2) + "\n")
print(json.dumps(results, indent=2))

err = sys.stderr
print(f"\nmicroflow {version} on the emulated Cortex-M4F (median of {len(baseline['runs'])} runs):", file=err)
print(
    "| network | MACs | instructions | per MAC | flash | microflow code | model data | static RAM"
    " | stack |",
    file=err,
)
print("|---|---|---|---|---|---|---|---|---|", file=err)
for r in results:
    s = r["flash_split"]
    print(
        f"| {r['network']} | {r['macs']} | {r['instructions']} | {r['instructions_per_mac']} | {r['flash']} B"
        f" | {s['microflow code']} B | {s['model data']} B | {r['static_ram']} B | {r['stack']} B |",
        file=err,
    )
print(f"(the harness alone: flash {flash(baseline_sections)} B, stack {baseline['stack']} B)", file=err)
EOF

echo >&2
echo "microflow-m4f.sh took $(seconds_since "$started") s" >&2
