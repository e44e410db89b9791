"""scripts/hot_symbols.py: reading lld's map and callgrind's dumps, and the check that fails a
build whose layout list no longer fits (scripts/build.sh runs it on every release build)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import hot_symbols  # noqa: E402

# An lld map: a section before .text, three function sections in .text (one of them empty, one
# holding two symbols), then a section after .text.
MAP = """\
             VMA              LMA     Size Align Out     In      Symbol
             2a8              2a8       1c     1 .interp
             2a8              2a8       1c     1         <internal>:(.interp)
           10000            10000      400    64 .rodata
           10000            10000      400     1         lto.tmp:(.rodata.table)
           10000            10000      400     1                 not_a_function
           20000            20000      300    64 .text
           20000            20000      100    16         lto.tmp:(.text.hot_one)
           20000            20000        0     1                 hot_one
           20100            20100        0     1         lto.tmp:(.text.empty)
           20100            20100        0     1                 empty
           20100            20100      200    16         aws.o:(.text)
           20100            20100        0     1                 asm_first
           20180            20180        0     1                 asm_second
           20300            20300       10     4 .init
           20300            20300       10     1         crti.o:(.init)
           20300            20300        0     1                 _init
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_function_sections_are_the_input_sections_of_text_named_by_their_first_symbol(tmp_path):
    sections = hot_symbols.function_sections(write(tmp_path, "map", MAP))
    assert sections == [(0x20000, 0x100, "hot_one"), (0x20100, 0x200, "asm_first")]


def test_an_address_belongs_to_the_section_that_holds_it():
    sections = [(0x20000, 0x100, "hot_one"), (0x20100, 0x200, "asm_first")]
    starts = [start for start, _, _ in sections]
    assert hot_symbols.section_of(sections, starts, 0x200ff)[2] == "hot_one"
    assert hot_symbols.section_of(sections, starts, 0x20180)[2] == "asm_first"
    assert hot_symbols.section_of(sections, starts, 0x20300) is None
    assert hot_symbols.section_of(sections, starts, 0x1ffff) is None


def test_executed_addresses_are_those_of_the_binary_only(tmp_path, monkeypatch):
    monkeypatch.setattr(hot_symbols, "BINARY", Path("/build/iam-key-rotator"))
    dump = write(tmp_path, "callgrind.out.1", """\
version: 1
events: Ir
ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fn=memcpy
0x28000 12
ob=/build/iam-key-rotator
fn=0x0000000000020000
0x20010 5
cob=/usr/lib/x86_64-linux-gnu/libc.so.6
cfn=memcpy
calls=1 0x28000
0x20020 40
fn=0x0000000000020180
0x20184 2
ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fn=strlen
0x29000 3
""")
    assert hot_symbols.executed_addresses(dump) == [0x20010, 0x20020, 0x20184]


def test_check_passes_when_the_listed_functions_come_first(tmp_path, capsys):
    hot_symbols.check(write(tmp_path, "map", MAP), write(tmp_path, "list", "hot_one\n"))
    assert "1 of the 1 functions in list are in this build, 1 of them at the start" in capsys.readouterr().out


def test_check_fails_when_the_listed_functions_are_gone(tmp_path):
    listed = write(tmp_path, "list", "hot_one\nrenamed_by_a_new_dependency\n")
    with pytest.raises(SystemExit) as failure:
        hot_symbols.check(write(tmp_path, "map", MAP), listed)
    assert "no longer fits the build" in str(failure.value) and "make hot-symbols" in str(failure.value)


def test_check_fails_when_the_listed_functions_were_not_placed_first(tmp_path):
    with pytest.raises(SystemExit) as failure:
        hot_symbols.check(write(tmp_path, "map", MAP), write(tmp_path, "list", "asm_first\n"))
    assert "no longer fits the build" in str(failure.value)
