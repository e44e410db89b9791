"""On a machine without one of the README's prerequisites, every make target stops at once, saying
which (issue 24): scripts/setup.sh, which each target runs first, checked with a PATH holding the
tools it uses, less one, or with one answering an old version. Nothing is installed then."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["bash", "uname", "python3", "cc", "cargo", "rustc", "sha256sum", "cut", "sort", "head", "cat", "dirname"]


def shims(tmp_path: Path, without: str = "", fakes: dict[str, str] | None = None) -> Path:
    """A bin directory with the real tools, less `without`, and `fakes` as small scripts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        if tool != without and tool not in (fakes or {}):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    for tool, script in (fakes or {}).items():
        path = bin_dir / tool
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def setup(bin_dir: Path, venv: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "VENV")}
    env.update(PATH=str(bin_dir), VENV=str(venv))
    return subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_with_every_prerequisite_setup_goes_on(tmp_path):
    """The control: the same PATH with nothing missing passes the checks (the installed .venv is
    up to date, so nothing is installed either)."""
    venv = Path(os.environ.get("VENV", ROOT / ".venv"))
    result = setup(shims(tmp_path), venv)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("without, fakes, said", [
    ("cc", None, "no C compiler (cc)"),
    ("cargo", None, "no cargo: install Rust with rustup"),
    ("", {"rustc": 'echo "rustc 1.93.0 (00000000 2025-01-01)"\n'}, "rustc is 1.93.0; 1.94.1 or later is needed"),
    ("", {"python3": 'case "$1" in -V) echo "Python 3.10.12";; *) exit 1;; esac\n'}, "python3 is 3.10.12; 3.11 or later is needed"),
])
def test_a_missing_prerequisite_stops_setup_saying_which(tmp_path, without, fakes, said):
    venv = tmp_path / "venv"
    result = setup(shims(tmp_path, without, fakes), venv)
    assert result.returncode == 1
    assert said in result.stderr, result.stderr
    assert not venv.exists(), "setup installed something after a failed check"
