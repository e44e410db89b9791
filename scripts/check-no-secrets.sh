#!/usr/bin/env bash
# Fails if a test run's output holds secret material (SPEC §10.7). The markers are parts of every
# secret the tests use: the fake's secret access keys, the RotationTokens, the literal secrets of
# the parser tests; and, when given, every line of a file of secrets the end-to-end tests saw.
# It names the marker's number, never the secret.
set -euo pipefail
output="$1"
seen="${2:-}"
markers=(
  "fakeSecret/"                              # every secret access key the fake issues
  "wJalrXUtnFEMI"                            # ...and the parser tests' example key
  "rotation-token-a1b2c3d4e5f6-secret"       # the tests' RotationToken
  "f3e2d1c0-b9a8-4776-8554-433221100fed"     # the fixtures' RotationToken
  "tok-very-secret"
  "very/secret+key"
  "s3cr3t-value"
)
found=0
for i in "${!markers[@]}"; do
  if grep -qF -- "${markers[$i]}" "$output"; then
    echo "secret material (marker $i of scripts/check-no-secrets.sh) appears in the test output" >&2
    found=1
  fi
done
if [ -n "$seen" ] && [ -s "$seen" ]; then
  if grep -qF -f "$seen" -- "$output"; then
    echo "secret material from the end-to-end tests ($seen) appears in the test output" >&2
    found=1
  else
    echo "none of the $(sort -u "$seen" | wc -l) secrets the end-to-end tests saw is in the output" >&2
  fi
fi
[ "$found" = 0 ] && echo "no secret material in $(wc -l < "$output") lines of test output" >&2
exit "$found"
