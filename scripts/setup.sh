#!/usr/bin/env bash
# Installs the project's Python tools (cargo-lambda, cfn-lint, pytest) into .venv, pinned by
# scripts/requirements.txt. Does nothing when .venv already matches the pins.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

stamp="$VENV/.requirements.sha256"
wanted="$(sha256sum scripts/requirements.txt | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
echo "setup: installing the pinned Python tools into $VENV" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements.txt
echo "$wanted" > "$stamp"
