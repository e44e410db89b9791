#!/usr/bin/env bash
# Builds the Lambda bootstrap with cargo-lambda (make build), for x86_64 with plain cargo: the
# template's default Architecture, and the only standard library this machine has. `sam build`
# (make sam-build) builds for the template's Architecture; arm64 needs cargo-lambda's zig cross
# build and an arm64 standard library, neither of which is set up here.
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
