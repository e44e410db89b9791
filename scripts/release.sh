#!/usr/bin/env bash
# make release: from a clean tree, what a deployer needs without Rust, in dist/:
#   iam-key-rotator-<version>-x86_64.zip   the Lambda function (its bootstrap), for the template's
#                                          default Architecture (CodeUri, or a console upload)
#   iam-key-fleet-<version>-x86_64-linux   the fleet command
#   SHA256SUMS                             their sums (`sha256sum -c SHA256SUMS`)
# The sums show that a download is whole; they prove nothing about who made it: take them (or the
# tag they were built from) from a source you trust, never from beside the files alone.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

if [ -n "$(git status --porcelain --untracked-files=normal)" ]; then
  echo "release: the tree has changes (git status): a release is built from a commit, nothing else" >&2
  exit 1
fi
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
grep -q "^## \[$version\]" CHANGELOG.md \
  || { echo "release: CHANGELOG.md has no section for $version" >&2; exit 1; }

scripts/build.sh >/dev/null
cargo build --quiet --release --locked -p iam-key-fleet

rm -rf dist && mkdir dist
"$VENV/bin/python" - "$CARGO_TARGET_DIR/lambda/iam-key-rotator/bootstrap" "dist/iam-key-rotator-$version-x86_64.zip" <<'PY'
import sys, zipfile
bootstrap, out = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16  # Lambda runs it: it must stay executable
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, open(bootstrap, "rb").read())
PY
install -m 0755 "$CARGO_TARGET_DIR/release/iam-key-fleet" "dist/iam-key-fleet-$version-x86_64-linux"
(cd dist && sha256sum -- * > SHA256SUMS)
echo "release $version ($(git rev-parse --short HEAD)), in dist/:"
(cd dist && cat SHA256SUMS)
