# Sourced by the scripts: where the build goes and where the project's tools are.
# The target directory lives outside the clone, so a fresh clone on the same machine reuses it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iam-key-rotator/target}"
export VENV="${VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
