#!/usr/bin/env bash
# Fails if a test run's output holds secret material (SPEC §10.7). The markers are parts of every
# secret the tests use: the fake's secret access keys, the RotationTokens, the literal secrets of
# the parser tests. It names the marker's number, never the secret.
set -euo pipefail
output="$1"
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
[ "$found" = 0 ] && echo "no secret material in $(wc -l < "$output") lines of test output" >&2
exit "$found"
