#!/usr/bin/env bash
# The one test command (make test): formatting, lints, every Rust test, the template tests.
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

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

step "cargo test"
cargo test --quiet 2>&1 | tee -a "$output"

step "template.yaml: cfn-lint and the policy checks"
"$VENV/bin/python" -m pytest -q tests/template 2>&1 | tee -a "$output"

step "no secret material in the test output"
scripts/check-no-secrets.sh "$output"
