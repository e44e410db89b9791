#!/usr/bin/env bash
# The one test command (make test): formatting, lints, every Rust test, the template tests, and the
# end-to-end tests (the function under cargo lambda watch, against the local AWS stack).
# Needs only the Rust toolchain and Python 3.11 with pip; it installs the rest itself.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*" >&2; }
output="$(mktemp)"
trap 'rm -f "$output"' EXIT

step "installing the project's tools"
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --check

# --workspace: the root's default member is the Lambda crate alone (Cargo.toml says why).
step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "cargo test --workspace"
cargo test --quiet --workspace 2>&1 | tee -a "$output"

# Every world of the lifecycle model explored exhaustively; fails when a property breaks (§18).
step "the lifecycle model (make model)"
cargo run --quiet -p iam-key-lifecycle-model 2>&1 | tee -a "$output"

step "template.yaml checks, and end to end: the function under cargo lambda watch against the local stack"
export STACK_LOG_DIR="$(mktemp -d)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider 2>&1 | tee -a "$output"

step "no secret material in the test output"
scripts/check-no-secrets.sh "$output" "$STACK_LOG_DIR/secret-material.txt"
rm -rf "$STACK_LOG_DIR"
