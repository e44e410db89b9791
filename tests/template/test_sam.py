"""The deploy commands the README gives, run as written: `sam validate --lint` and `sam build`
through scripts/sam.sh (make sam-build), which puts the project's own cargo-lambda and its pinned
SAM CLI (.venv-sam) on PATH. The build is the one `sam deploy` would upload."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / "scripts" / "sam.sh"


def sam(*args, cwd=ROOT):
    return subprocess.run([str(SAM), *args], cwd=cwd, capture_output=True, text=True, timeout=1800)


def test_sam_validate_lint_passes():
    result = sam("validate", "--lint", "--template-file", "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_fails_on_a_broken_template(tmp_path):
    broken = (ROOT / "template.yaml").read_text().replace("Architectures: [!Ref Architecture]", "Architectures: [!Ref NoSuchParameter]")
    assert "NoSuchParameter" in broken
    (tmp_path / "template.yaml").write_text(broken)
    result = sam("validate", "--lint", "--template-file", str(tmp_path / "template.yaml"))
    assert result.returncode != 0, "sam validate --lint accepted a reference to no parameter"


def test_sam_build_makes_the_function_for_the_default_architecture(tmp_path):
    build_dir = tmp_path / "build"
    result = sam("build", "--template-file", "template.yaml", "--build-dir", str(build_dir))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    bootstrap = build_dir / "RotatorFunction" / "bootstrap"
    assert bootstrap.is_file(), f"no bootstrap in {build_dir}: {list(build_dir.rglob('*'))[:20]}"
    header = bootstrap.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", "the bootstrap is not an ELF executable"
    machine = int.from_bytes(header[18:20], "little")
    assert machine == 0x3E, f"the bootstrap is for machine {machine:#x}, not x86_64 (0x3e), the template's default"
    built = (build_dir / "template.yaml").read_text()
    assert "CodeUri: RotatorFunction" in built, "sam build did not point the template at its build"
