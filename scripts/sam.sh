#!/usr/bin/env bash
# Runs SAM CLI with the project's own tools: `scripts/sam.sh build`, `scripts/sam.sh deploy --guided`
# (make sam-build, make deploy). SAM CLI lives in its own virtual environment, .venv-sam, pinned by
# scripts/requirements-sam.txt: its pins conflict with the test tools'. cargo-lambda (which
# `sam build` runs for BuildMethod rust-cargolambda) comes from .venv, put on PATH here.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/setup.sh

SAM_VENV="${SAM_VENV:-$ROOT/.venv-sam}"
stamp="$SAM_VENV/.requirements.sha256"
wanted="$(sha256sum scripts/requirements-sam.txt | cut -d' ' -f1)"
if ! [ -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "sam: installing the pinned SAM CLI into $SAM_VENV" >&2
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-sam.txt
  echo "$wanted" > "$stamp"
fi

export PATH="$SAM_VENV/bin:$PATH"
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
# cargo-lambda cross-compiles with zig by default; for x86_64 on an x86_64 machine plain cargo is
# enough (and is what `make build` uses). An arm64 build needs zig: unset this, and see the template's Architecture parameter.
if [ "$(uname -m)" = x86_64 ]; then
  export CARGO_LAMBDA_COMPILER="${CARGO_LAMBDA_COMPILER:-cargo}"
fi
exec sam "$@"
