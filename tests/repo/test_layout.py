"""The shape a newcomer can carry (issue 14): no source file over ~300 lines, and imports that go
one way: within each crate, no two modules import each other, directly or through others.

A module's imports are its `use` lines (`crate::`, `super::`, `self::`), `pub use` included, and
paths written in place (`crate::aws::AWSCURRENT`). A path names the deepest module it goes
through. An inline `#[cfg(test)] mod tests` is the module's own test code and is not counted."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CRATES = sorted(p.parent for p in (ROOT / "crates").glob("*/Cargo.toml"))
MAX_LINES = 300


def modules(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path (() for the crate root) to its file."""
    found = {}
    for file in src.rglob("*.rs"):
        parts = list(file.relative_to(src).with_suffix("").parts)
        if parts in (["lib"], ["main"]):
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        found[tuple(parts)] = file
    return found


PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")


def imports(module: tuple[str, ...], text: str, known: set) -> set:
    """The modules `module` imports, from its text (test code cut off)."""
    text = text.split("#[cfg(test)]\nmod tests")[0]
    text = re.sub(r"//[^\n]*", "", text)
    # Expand `use a::{b, c::d}` one level so each branch is a path of its own.
    expanded = []
    for m in re.finditer(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text, flags=re.M):
        expanded.extend(expand(re.sub(r"\s+", "", m.group(1))))
    paths = expanded + [m.group(0) for m in PATH.finditer(text)]
    # A child module named in place (`create_secret::create_secret(...)`).
    children = {m[-1] for m in known if len(m) == len(module) + 1 and m[: len(module)] == module}
    paths += [m.group(1) + "::" for m in re.finditer(r"(?<![:\w])([a-z_][a-z0-9_]*)::", text) if m.group(1) in children]
    targets = set()
    for path in paths:
        parts = [p for p in path.split("::") if p and not p.startswith("{")]
        if not parts:
            continue
        if parts[0] in ("crate", "super", "self"):
            base = {"crate": (), "self": module, "super": module[:-1]}[parts[0]]
            rest = parts[1:]
        elif module + (parts[0],) in known:  # `use child::Thing` (2018 paths)
            base, rest = module, parts
        else:
            continue
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
        target = base
        for name in rest:
            if target + (name,) in known:
                target = target + (name,)
            else:
                break
        if target != module and not (len(target) > len(module) and target[: len(module)] == module):
            targets.add(target)
        elif target != module and len(target) == len(module) + 1:
            # A parent re-exporting from its own child: an edge parent -> child.
            targets.add(target)
    return targets


def expand(use: str) -> list[str]:
    """`a::{b,c::{d,e}}` -> a::b, a::c::d, a::c::e."""
    if "{" not in use:
        return [use]
    head, _, body = use.partition("{")
    body = body[: body.rindex("}")]
    items, depth, current = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    items.append(current)
    return [p for item in items if item for p in expand(head + item)]


def graph(src: Path) -> dict:
    mods = modules(src)
    known = set(mods)
    return {m: imports(m, f.read_text(), known) for m, f in mods.items()}


def cycle(edges: dict) -> list | None:
    """A cycle of modules, if there is one (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def name(module):
    return "::".join(module) or "crate"


@pytest.mark.parametrize("crate", CRATES, ids=lambda p: p.name)
def test_no_source_file_is_over_300_lines(crate):
    long = {str(f.relative_to(ROOT)): n for f in (crate / "src").rglob("*.rs")
            if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("crate", CRATES, ids=lambda p: p.name)
def test_imports_go_one_way(crate):
    found = cycle(graph(crate / "src"))
    assert found is None, "modules import each other: " + " -> ".join(map(name, found))


def test_the_four_crates_are_there():
    assert [c.name for c in CRATES] == ["fleet", "lambda", "model", "rotator"]


def test_the_cycle_check_finds_a_cycle(tmp_path):
    """The check above can fail: two modules that import each other, and one through a third."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "lib.rs").write_text("mod a;\nmod b;\nmod c;\n")
    (src / "a.rs").write_text("use crate::b::Thing;\n")
    (src / "b.rs").write_text("use super::c::{Other, more::Deep};\n")
    (src / "c.rs").write_text("pub fn f() -> crate::a::X { todo!() }\n")
    assert cycle(graph(src)) == [("a",), ("b",), ("c",), ("a",)]
    (src / "c.rs").write_text("#[cfg(test)]\nmod tests {\n    use crate::a::X;\n}\n")
    assert cycle(graph(src)) is None


def test_the_cycle_check_sees_a_parent_and_child_importing_each_other(tmp_path):
    src = tmp_path / "src"
    (src / "aws").mkdir(parents=True)
    (src / "lib.rs").write_text("pub mod aws;\n")
    (src / "aws" / "mod.rs").write_text("mod iam;\npub use iam::SdkIam;\npub struct AwsError;\n")
    (src / "aws" / "iam.rs").write_text("use super::AwsError;\n")
    assert cycle(graph(src)) == [("aws",), ("aws", "iam"), ("aws",)]
    # The same when the parent names its child in place, as a dispatcher does.
    (src / "aws" / "mod.rs").write_text("mod iam;\npub struct AwsError;\nfn f() { iam::go() }\n")
    assert cycle(graph(src)) == [("aws",), ("aws", "iam"), ("aws",)]
