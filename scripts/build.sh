#!/usr/bin/env bash
# Builds the Lambda bootstrap with cargo-lambda (make build). Here it targets x86_64 with plain
# cargo: the machine has no arm64 standard library. `sam build` builds the arm64 one for deployment.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/setup.sh
# The linker's map shows where each function went: the check below fails if link/hot-symbols.txt
# (the hot functions first, build.rs) no longer fits this build.
export IAM_KEY_ROTATOR_LINK_MAP="$CARGO_TARGET_DIR/iam-key-rotator.map"
cargo lambda build --release --compiler cargo --x86-64 "$@"
bootstrap="$CARGO_TARGET_DIR/lambda/iam-key-rotator/bootstrap"
test -x "$bootstrap" || { echo "build: no bootstrap at $bootstrap" >&2; exit 1; }
"$VENV/bin/python" scripts/hot_symbols.py --check "$IAM_KEY_ROTATOR_LINK_MAP"
file "$bootstrap" 2>/dev/null || true
ls -l "$bootstrap"
