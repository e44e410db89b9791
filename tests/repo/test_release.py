"""make release (issue 24): from a clean clone of this commit, the Lambda zip (an executable
`bootstrap` at its root) and the fleet binary, named with the version that Cargo.toml and the
CHANGELOG agree on, and SHA-256 sums that check; from a tree with changes, nothing. The build
reuses the shared, warm target directory (scripts/env.sh)."""

import hashlib
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), flags=re.M).group(1)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """This commit, clean, with the project's tools (.venv) beside it as a fresh clone has them."""
    path = tmp_path_factory.mktemp("release") / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(path)], check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    subprocess.run(["git", "checkout", "--quiet", head.stdout.strip()], cwd=path, check=True)
    return path


def release(clone: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VENV": str(ROOT / ".venv")}
    return subprocess.run(["scripts/release.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)


def test_the_changelog_has_this_version():
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)


def test_release_builds_the_zip_and_the_fleet_with_sums(clone):
    done = release(clone)
    assert done.returncode == 0, done.stderr
    dist = clone / "dist"
    zip_name, fleet_name = f"iam-key-rotator-{VERSION}-x86_64.zip", f"iam-key-fleet-{VERSION}-x86_64-linux"
    assert sorted(p.name for p in dist.iterdir()) == sorted([zip_name, fleet_name, "SHA256SUMS"])
    with zipfile.ZipFile(dist / zip_name) as z:
        (entry,) = z.infolist()
        assert entry.filename == "bootstrap" and (entry.external_attr >> 16) & 0o111, "an executable bootstrap"
        assert z.read("bootstrap")[:4] == b"\x7fELF"
    version = subprocess.run([str(dist / fleet_name), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split() == ["iam-key-fleet", VERSION]
    sums = dict(reversed(line.split("  ")) for line in (dist / "SHA256SUMS").read_text().splitlines())
    assert sums == {name: hashlib.sha256((dist / name).read_bytes()).hexdigest() for name in (zip_name, fleet_name)}


def test_release_refuses_a_tree_with_changes(clone):
    (clone / "README.md").write_text((clone / "README.md").read_text() + "\nan edit\n")
    try:
        done = release(clone)
    finally:
        subprocess.run(["git", "checkout", "--quiet", "README.md"], cwd=clone, check=True)
    assert done.returncode == 1 and "the tree has changes" in done.stderr, done.stderr
