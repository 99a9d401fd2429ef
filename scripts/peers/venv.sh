# The peer benchmarks' Python: a venv at $venv with the pinned packages in $pins (pip runs only
# when a pin is missing or differs). Sourced by scripts/bench-peers.sh and
# scripts/bench-training.sh, which set venv, pins and a `step` function first.
# A Python tensorflow-cpu has wheels for, able to make a venv with pip (Debian's own python3
# needs the python3-venv package for that).
supported_python() {
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)' \
        2>/dev/null
}

step "Python venv: $venv"
if ! { [[ -x "$venv/bin/python" ]] && supported_python "$venv/bin/python"; }; then
    python=""
    for candidate in ${MOTE_PEER_PYTHON:-} python3 python3.12 python3.11 python3.10 python3.13; do
        if command -v "$candidate" >/dev/null && supported_python "$candidate"; then
            python=$candidate
            break
        fi
    done
    if [[ -z "$python" ]]; then
        echo "no Python 3.10-3.13 with venv and ensurepip found (tensorflow-cpu ${pins[0]#*==} needs one):" \
            "set MOTE_PEER_PYTHON, or apt-get install python3-venv" >&2
        exit 1
    fi
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi
missing=$("$venv/bin/python" - "${pins[@]}" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    try:
        if version(name) == wanted:
            continue
    except PackageNotFoundError:
        pass
    print(pin)
EOF
)
if [[ -n "$missing" ]]; then
    echo "installing (missing or other versions: ${missing//$'\n'/ })" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
else
    echo "pinned packages present: ${pins[*]}" >&2
fi
