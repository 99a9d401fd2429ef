#!/usr/bin/env bash
# Installs what Mote needs on Debian 12, idempotently: system packages (only the missing ones),
# and checks the Rust toolchain. Usage: scripts/install.sh run|test
set -euo pipefail
purpose="${1:-run}"

# Host build: serialport/probe-rs link libudev; gcc for crates that build C; the desktop app
# (Tauri 2) needs WebKitGTK and friends; Node builds its interface.
packages=(build-essential pkg-config libudev-dev libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
          libayatana-appindicator3-dev librsvg2-dev)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
# Board firmware and the C library (libmote.a) are built from this checkout with Debian's Rust and
# its std source (-Zbuild-std; rustup cannot fetch the embedded targets here): flashing a board and
# the C/Arduino exports use them.
packages+=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
if [ "$purpose" = "test" ]; then
    # QEMU for the emulated boards (Arm; RISC-V in qemu-system-misc), and the ARM GNU tools for
    # C headers and ELF sizes.
    packages+=(qemu-system-arm qemu-system-misc
               binutils-arm-none-eabi gcc-arm-none-eabi
               # The C library's tests: C programs for Arm and RISC-V with picolibc (semihosting),
               # RISC-V's QEMU (qemu-system-misc, above), CMake for the exported CMakeLists.txt.
               picolibc-arm-none-eabi gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf cmake
               # Speech synthesis for the calibration benchmark's keyword set.
               espeak-ng
               # The MQTT gateway's tests start a real broker (and its clients are handy by hand).
               mosquitto mosquitto-clients
               # The GUI suite: a headless X server and WebKit's WebDriver.
               xvfb webkit2gtk-driver)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The host toolchain: rustup's stable (1.95 or newer).
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v rustup >/dev/null 2>&1; then
    echo "installing rustup (stable toolchain)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
fi
rust_minor=$(rustc --version | sed -E 's/rustc 1\.([0-9]+).*/\1/')
if [ "$rust_minor" -lt 95 ]; then
    rustup toolchain install stable --profile minimal
fi

# Node 20 or newer for the interface's build tools (Vite 8).
node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')
if [ -z "$node_major" ] || [ "$node_major" -lt 20 ]; then
    echo "Mote's interface needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
    echo "Install it from your distribution's backports or nodesource, then run this again." >&2
    exit 1
fi
# The interface's packages, exactly as locked; only when the lock changed since the last install.
ui_dir="$(dirname "$0")/../ui"
if [ ! -f "$ui_dir/node_modules/.package-lock.json" ] || [ "$ui_dir/package-lock.json" -nt "$ui_dir/node_modules/.package-lock.json" ]; then
    (cd "$ui_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$purpose" = "test" ] && ! command -v tauri-driver >/dev/null 2>&1; then
    echo "installing tauri-driver (WebDriver bridge for the GUI suite)"
    cargo install tauri-driver --locked --version 2.1.0 --quiet
fi
