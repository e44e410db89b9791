#!/usr/bin/env bash
# Builds the Lambda bootstrap with cargo-lambda (make build). Here it targets x86_64 with plain
# cargo: the machine has no arm64 standard library. `sam build` builds the arm64 one for deployment.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/setup.sh
# The workspace's default member is the Lambda crate, so only the function's features are built.
cargo lambda build --release --compiler cargo --x86-64 --package iam-key-rotator-lambda "$@"
bootstrap="$CARGO_TARGET_DIR/lambda/iam-key-rotator/bootstrap"
test -x "$bootstrap" || { echo "build: no bootstrap at $bootstrap" >&2; exit 1; }
file "$bootstrap" 2>/dev/null || true
ls -l "$bootstrap"
