"""Docs that cannot drift from what they describe (issue 24): the README's parameter table names
every parameter of template.yaml and no other; no Markdown file leaves a code fence open (an open
fence turns the rest of the page into code, and its links into text); `make help` lists every
target."""

import re
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN = sorted(p for p in ROOT.rglob("*.md")
                  if not {".venv", ".venv-sam", "target", "node_modules", ".git"} & set(p.relative_to(ROOT).parts))


def readme_parameters() -> set[str]:
    """The backticked names in the first column of the README's `| parameter | meaning |` table."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| parameter | meaning |"):].split("\n\n")[0]
    names = set()
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        names |= set(re.findall(r"`([A-Za-z0-9]+)`", first))
    return names


def test_the_readme_parameter_table_is_the_templates():
    template, errors = decode_str((ROOT / "template.yaml").read_text())
    assert not errors, errors
    parameters = set(template["Parameters"])
    table = readme_parameters()
    assert parameters - table == set(), f"parameters the README's table does not give: {sorted(parameters - table)}"
    assert table - parameters == set(), f"the README's table gives what the template lacks: {sorted(table - parameters)}"


def open_fence(text: str) -> int | None:
    """The line of a fence (``` or ~~~) whose close is missing, if any. CommonMark closes a fence
    with the same character, at least as long, and nothing after it but spaces: so a fence left
    open either runs to the end, or swallows the next block, whose opening line (```sh) it takes
    for code and whose closing line it takes for its own. Both are reported."""
    opened = None
    for number, line in enumerate(text.splitlines(), start=1):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})(.*)$", line)
        if not m:
            continue
        fence, rest = m.groups()
        if opened is None:
            opened = (fence, number)
        elif fence[0] == opened[0][0] and len(fence) >= len(opened[0]) and not rest.strip():
            opened = None
        elif fence[0] == opened[0][0] and rest.strip() and len(fence) == len(opened[0]):
            return opened[1]  # an opener inside a block: the block above it was never closed
    return opened[1] if opened else None


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_fence_is_closed(path):
    line = open_fence(path.read_text())
    assert line is None, f"{path.relative_to(ROOT)}: the code fence opened on line {line} is never closed"


def test_an_open_fence_is_found():
    assert open_fence("text\n```sh\nmake\n```\n") is None
    assert open_fence("```\na\n```\n\n```\nb\n") == 5
    assert open_fence("````\n```\n````\n") is None, "a shorter fence inside a longer one closes nothing"
    assert open_fence("```\nout\n\n## unstick\n\n```sh\nmake\n```\n") == 1, "docs/fleet.md before issue 22"


def test_make_help_lists_every_target():
    """`make help` prints the `##` line above each target: every target of .PHONY has one."""
    import subprocess

    makefile = (ROOT / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY:(.*)$", makefile, flags=re.M).group(1).split())
    documented = set(re.findall(r"^## [^\n]*\n(?:## [^\n]*\n)*([a-z-]+):", makefile, flags=re.M))
    assert phony - documented == set(), f"targets without a ## line: {sorted(phony - documented)}"
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = set(re.findall(r"^  make (\S+)", shown, flags=re.M))
    assert listed == phony, sorted(listed ^ phony)


def test_the_readme_error_table_is_the_rotators():
    """Every code the function can return (`Problem::name` in crates/rotator/src/error.rs) has a
    row in the README's "It failed: now what?" table, and the table has no other."""
    source = (ROOT / "crates/rotator/src/error.rs").read_text()
    names = source[source.index("pub fn name(&self)"):]
    codes = set(re.findall(r'=> "([A-Za-z]+)",', names)) | {"Aws.<code>"}
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| code | meaning | what to do |"):].split("\n\n")[0]
    rows = {re.match(r"\| `([^`]+)`", row).group(1) for row in table.splitlines()[2:]}
    assert codes - rows == set(), f"codes the README's table lacks: {sorted(codes - rows)}"
    assert rows - codes == set(), f"rows for codes the function does not have: {sorted(rows - codes)}"
