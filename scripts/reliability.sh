#!/usr/bin/env bash
# make reliability: runs the fault, crash, bad-input, parser and load tests and prints their figures
# (about 7 minutes).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/setup.sh
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
export STACK_LOG_DIR="$(mktemp -d)"

cargo test --quiet -p iam-key-rotator --test crash_matrix --test mirror_crash --test bad_inputs --test parsers_prop -- --nocapture >"$out" 2>&1 \
  || { cat "$out"; exit 1; }
cargo test --quiet -p iam-key-lifecycle-model --test conformance -- --nocapture >>"$out" 2>&1 \
  || { cat "$out"; exit 1; }
model="$(mktemp)"
cargo run --quiet -p iam-key-lifecycle-model >"$model" 2>&1 || { cat "$model"; exit 1; }
properties=$(grep -c "^test .* ok$" <(cargo test --quiet -p iam-key-rotator --test parsers_prop -- --list 2>/dev/null | sed 's/: test$/ ok/;s/^/test /') || true)
"$VENV/bin/python" -m pytest -q -s -p no:cacheprovider tests/e2e/test_faults.py tests/e2e/test_load.py \
  tests/e2e/test_crash_matrix.py >>"$out" 2>&1 \
  || { cat "$out"; exit 1; }
rm -rf "$STACK_LOG_DIR"

survived=$(grep -c "^fault survived" "$out")
kinds=$(grep "^fault survived" "$out" | awk '{print $3}' | sort -u | tr '\n' ' ')
echo
echo "Reliability figures ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m))"
# (cargo's parallel test output can put a figure on the same line as another test's name.)
printf '  %-28s %s\n' "crash-retry matrix:" "$(grep -o 'crash-retry matrix.*passed' "$out" | sed 's/^crash-retry matrix //')"
printf '  %-28s %s\n' "" "$(grep -o 'mirror crash-retry matrix.*passed' "$out" | sed 's/^mirror crash-retry matrix/mirror writes:/')"
printf '  %-28s %s\n' "" "$(grep -o 'against the local stack: .*' "$out")"
printf '  %-28s %s\n' "bad inputs:" "$(grep -o 'bad inputs: .*anything' "$out" | sed 's/^bad inputs: //')"
printf '  %-28s %s\n' "bad configurations:" "$(grep '^bad configurations:' "$out" | sed 's/^bad configurations: //')"
printf '  %-28s %s\n' "parsers (property tests):" "$properties properties x 2000 generated inputs each: no panic, no secret quoted"
printf '  %-28s %s\n' "transient faults:" "$survived injected ($kinds) and ridden out by bounded retries"
printf '  %-28s %s\n' "" "$(grep '^fault past the bound' "$out" | sed 's/^fault past the bound: //')"
printf '  %-28s %s\n' "load:" "$(grep '^load:' "$out" | sed 's/^load: //')"
printf '  %-28s %s\n' "lifecycle model (§18):" "$(grep -c 'states (' "$model") worlds, $(grep -o '[0-9]* unique' "$model" | awk '{s+=$1} END {print s}') unique states, $(grep -c '^  ok ' "$model") property checks held"
printf '  %-28s %s\n' "conformance:" "$(grep -o 'conformance: .*' "$out" | sed 's/^conformance: //')"
rm -f "$model"
