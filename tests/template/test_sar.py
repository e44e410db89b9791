"""The template's Serverless Application Repository metadata (issue 24), offline: what
`sam publish` requires is there, within SAR's limits, and says the same as the rest of the
release (the crates' version, CHANGELOG.md's latest release, the licence file). `sam validate
--lint` over the same template is test_sam.py's."""

import re
import tomllib
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
# SAR's own limits (the CreateApplication API, and the SAM guide's Metadata section properties).
NAME = re.compile(r"^[a-zA-Z0-9\-]{1,140}$")
AUTHOR = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
LABEL = re.compile(r"^[a-zA-Z0-9+\-_:/@]{1,127}$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")


def metadata(text: str | None = None) -> dict:
    template, errors = decode_str(text if text is not None else (ROOT / "template.yaml").read_text())
    assert not errors, errors
    return template["Metadata"]["AWS::ServerlessRepo::Application"]


def problems(app: dict) -> list[str]:
    """Everything that would stop `sam publish`, or make the listing disagree with the release."""
    found = []
    for key, value in app.items():
        if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            found.append(f"{key} is not plain text (SAR reads no intrinsic function): {value!r}")
    for key in ("Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl", "SemanticVersion"):
        if not app.get(key):
            found.append(f"{key} is missing")
    if not NAME.match(str(app.get("Name", ""))):
        found.append(f"Name {app.get('Name')!r} is not 1-140 letters, digits and hyphens")
    if not 1 <= len(str(app.get("Description", ""))) <= 256:
        found.append("Description is not 1-256 characters")
    if not AUTHOR.match(str(app.get("Author", ""))) or len(str(app.get("Author", ""))) > 127:
        found.append(f"Author {app.get('Author')!r} is not lower-case letters, digits and single hyphens")
    labels = app.get("Labels", [])
    if len(labels) > 10 or not all(isinstance(label, str) and LABEL.match(label) for label in labels):
        found.append(f"Labels {labels!r}: at most 10, each 1-127 of [a-zA-Z0-9+-_:/@]")
    for key in ("LicenseUrl", "ReadmeUrl"):
        if app.get(key) and not (ROOT / str(app[key])).is_file():
            found.append(f"{key} names {app[key]!r}, which is not a file of the repository")
    for key in ("SourceCodeUrl", "HomePageUrl"):
        if key in app and not str(app[key]).startswith("https://"):
            found.append(f"{key} {app[key]!r} is not an https address")
    version = str(app.get("SemanticVersion", ""))
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]
    if not SEMVER.match(version):
        found.append(f"SemanticVersion {version!r} is not a semantic version")
    if version != cargo["version"]:
        found.append(f"SemanticVersion {version} is not the crates' version {cargo['version']}")
    released = re.findall(r"^## \[(\d[^\]]*)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    if not released or released[0] != version:
        found.append(f"SemanticVersion {version} is not CHANGELOG.md's latest release {released[:1]}")
    if app.get("SpdxLicenseId") != cargo["license"]:
        found.append(f"SpdxLicenseId {app.get('SpdxLicenseId')!r} is not the crates' licence {cargo['license']!r}")
    return found


def test_the_template_carries_complete_sar_metadata():
    assert problems(metadata()) == []


def test_the_licence_file_is_the_licence_named():
    app = metadata()
    assert app["SpdxLicenseId"] == "MIT"
    assert (ROOT / app["LicenseUrl"]).read_text().startswith("MIT License")


@pytest.mark.parametrize("change, problem", [
    (("SemanticVersion: 0.2.0", "SemanticVersion: 0.3.0"), "not the crates' version"),
    (("SemanticVersion: 0.2.0", "SemanticVersion: !Ref AWS::NoValue"), "not plain text"),
    (("Author: iam-key-rotator", "Author: Iam Key Rotator"), "Author"),
    (("    ReadmeUrl: README.md\n", ""), "ReadmeUrl is missing"),
    (("LicenseUrl: LICENSE", "LicenseUrl: LICENCE.txt"), "not a file of the repository"),
    (("SpdxLicenseId: MIT", "SpdxLicenseId: Apache-2.0"), "not the crates' licence"),
    (("Labels: [", "Labels: [two words, "), "Labels"),
    (("    SemanticVersion", "    SourceCodeUrl: github.com/someone/else\n    SemanticVersion"), "not an https address"),
])
def test_each_rule_catches_its_drift(change, problem):
    text = (ROOT / "template.yaml").read_text()
    assert change[0] in text
    found = problems(metadata(text.replace(change[0], change[1], 1)))
    assert any(problem in p for p in found), found
