#!/usr/bin/env bash
# Installs the project's Python tools (cargo-lambda, cfn-lint, pytest) into .venv, pinned by
# scripts/requirements.txt. Does nothing when .venv already matches the pins.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

# The prerequisites (README, "Quick start"), checked first: each missing one said at once.
need() { echo "setup: $*" >&2; exit 1; }
[ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] \
  || need "this builds and tests x86_64 Linux binaries; this machine is $(uname -s)/$(uname -m)"
command -v python3 >/dev/null || need "no python3: install Python 3.11 or later, with venv and pip"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || need "python3 is $(python3 -V 2>&1 | cut -d' ' -f2); 3.11 or later is needed"
python3 -c 'import venv, ensurepip' 2>/dev/null \
  || need "python3 has no venv/ensurepip: install them (Debian/Ubuntu: apt install python3-venv)"
command -v cc >/dev/null || need "no C compiler (cc): the AWS SDK's TLS library (aws-lc) needs one (apt install build-essential)"
command -v cargo >/dev/null || need "no cargo: install Rust with rustup (https://rustup.rs); rust-toolchain.toml picks the version"
rust="$(rustc --version 2>/dev/null | cut -d' ' -f2)"
[ "$(printf '%s\n%s\n' 1.94.1 "$rust" | sort -V | head -1)" = 1.94.1 ] \
  || need "rustc is ${rust:-missing}; 1.94.1 or later is needed (rust-toolchain.toml pins 1.95.0: rustup installs it)"

stamp="$VENV/.requirements.sha256"
wanted="$(sha256sum scripts/requirements.txt | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
echo "setup: installing the pinned Python tools into $VENV" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements.txt
echo "$wanted" > "$stamp"
