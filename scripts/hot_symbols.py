#!/usr/bin/env python3
"""make hot-symbols: lists the functions of the release binary that a cold start and a rotation
run, start-up first, into link/hot-symbols.txt. build.rs hands that list to the linker
(--symbol-ordering-file), which places those functions together at the start of .text.

Why: the kernel maps code 64 KiB at a time around each page a program touches, so a start and a
rotation whose functions are spread over 3.3 MB of code keep most of the binary resident. Packed
together they take what they need: less memory, fewer page faults at start (README "Performance").

How, in two passes, each running a cold start and a full rotation twice: over HTTPS (through
stack/tls_proxy.py, as in Lambda, where every call is HTTPS) and over plain HTTP (the local stack,
as in make bench and cargo lambda watch).
1. Under valgrind's callgrind, which sees every function that runs. Its counters are dumped at
   the first poll for an event and after the rotation, so start-up functions come first. The
   functions both runs need come first, then those only plain HTTP needs, then those only HTTPS
   needs (TLS).
2. Natively under `perf record -e page-faults`: valgrind's CPU lacks AVX-512 and SHA-NI, so the
   crypto code picks other routines than it does on this machine. A code page fault outside the
   listed functions names the function that was first touched there; it joins the list and the
   binary is linked again, until a pass finds none.

The build is make build's (same profile and flags, so the same symbol names: Cargo hashes the
profile into them) plus the linker's map of where each function went. Run it again when the
dependencies change: names the binary no longer has are ignored by the linker, new functions fall
where they fall. Needs valgrind and perf; the list it writes is committed, so builds need neither.
"""

from __future__ import annotations

import bisect
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import STEPS, RuntimeApi, function_user, new_rotation, spawn  # noqa: E402
from stack.harness import Stack, World  # noqa: E402
from stack.tls_proxy import TlsProxy  # noqa: E402

OUTPUT = ROOT / "link" / "hot-symbols.txt"
# A target directory of its own: this build differs from make build's only by the map file the
# linker writes, but switching back and forth in one directory would relink each time.
TARGET = Path(os.environ.get("HOT_SYMBOLS_TARGET_DIR", Path.home() / ".cache" / "iam-key-rotator" / "hot-symbols"))
BINARY = (TARGET / "lambda" / "iam-key-rotator" / "bootstrap").resolve()
LINK_MAP = TARGET / "iam-key-rotator.map"
NATIVE_ROUNDS = 10

Section = tuple[int, int, str]  # address, size, the symbol that names it


def build() -> list[Section]:
    """Builds the function exactly as `make build` does (cargo lambda: --target, its own rustflags;
    fat LTO numbers the local functions it renames, so any difference in the build renames some),
    laid out with the current list, with the linker's map (build.rs); returns the function
    sections of .text, by address."""
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET), "IAM_KEY_ROTATOR_LINK_MAP": str(LINK_MAP)}
    subprocess.run(["cargo", "lambda", "build", "--release", "--compiler", "cargo", "--x86-64"],
                   cwd=ROOT, env=env, check=True)
    return function_sections(LINK_MAP)


def function_sections(link_map: Path) -> list[Section]:
    """Each input section of .text in lld's map file, named by its first symbol:

             VMA              LMA     Size Align Out     In      Symbol
          206e40           206e40   370022    64 .text
          206e40           206e40       5a    16         lto.tmp:(.text._ZN3foo3bar17h...E)
          206e40           206e40        0     1                 _ZN3foo3bar17h...E
    """
    sections: list[Section] = []
    in_text, pending = False, None
    for line in link_map.read_text().splitlines():
        match = re.match(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ (\s*)(.*)$", line)
        if not match:
            continue
        address, size, indent, rest = int(match.group(1), 16), int(match.group(2), 16), len(match.group(3)), match.group(4)
        if indent == 0:  # an output section
            in_text = rest == ".text"
        elif in_text and indent == 8:  # an input section
            pending = (address, size) if size else None
        elif in_text and pending and indent == 16 and address == pending[0]:
            sections.append((pending[0], pending[1], rest))
            pending = None
    return sorted(sections)


def section_of(sections: list[Section], starts: list[int], address: int) -> Section | None:
    i = bisect.bisect_right(starts, address) - 1
    if i >= 0 and address < sections[i][0] + sections[i][1]:
        return sections[i]
    return None


class Rotations:
    """The local stack, an HTTPS front for it, and a user with the template's permissions for the
    function; `run` starts the binary under a tool and rotates a fresh secret."""

    def __init__(self) -> None:
        self.stack = Stack("hot-symbols")
        self.proxy = TlsProxy(self.stack.endpoint)
        self.world = World(self.stack)
        self.creds = function_user(self.world)
        self.endpoints = {
            "https": {"AWS_ENDPOINT_URL": self.proxy.endpoint, "SSL_CERT_FILE": str(self.proxy.ca_path)},
            "http": {"AWS_ENDPOINT_URL": self.stack.endpoint},
        }

    def run(self, endpoint: str, wrapper: tuple[str, ...], after_start: Callable[[int], None] = lambda _: None,
            after_rotation: Callable[[int], None] = lambda _: None) -> None:
        secret, token = new_rotation(self.stack, self.world)
        self.world.secret_material.clear()
        api = RuntimeApi()
        process = spawn(BINARY, api, {**self.endpoints[endpoint], "PREVIOUS_KEY_ACTION": "delete", **self.creds}, wrapper)
        try:
            while api.first_poll is None:
                if process.poll() is not None:
                    sys.exit(f"{' '.join(wrapper)}: the function exited before its first poll")
                time.sleep(0.05)
            after_start(process.pid)
            for step in STEPS:
                api.events.put({"Step": step, "SecretId": secret, "ClientRequestToken": token})
                result = api.results.get(timeout=600)
                if not result["ok"]:
                    sys.exit(f"{step} failed under {wrapper[0]}: {result['body'][:500]}")
            after_rotation(process.pid)
        finally:
            process.send_signal(signal.SIGINT)  # perf stops recording and ends the function
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            api.stop()

    def stop(self) -> None:
        self.proxy.stop()
        self.stack.stop()


def callgrind_pass(rotations: Rotations, out: Path, endpoint: str) -> list[int]:
    """The addresses of the binary that ran under callgrind, start-up first."""
    dumps = out / f"callgrind-{endpoint}"
    rotations.run(endpoint, ("valgrind", "--tool=callgrind", "--dump-instr=yes", "--dump-line=no", "--compress-pos=no",
                             "--compress-strings=no", f"--callgrind-out-file={dumps}"),
                  after_start=dump_counters("start-up"), after_rotation=dump_counters("rotation"))
    return [address for path in sorted(out.glob(f"{dumps.name}.*"), key=lambda p: p.stat().st_mtime)
            for address in executed_addresses(path)]


def dump_counters(label: str) -> Callable[[int], None]:
    """Makes callgrind write what it counted so far to a new file (`<out>.1`, `.2`, ...) and count
    on from zero."""
    def dump(pid: int) -> None:
        subprocess.run(["callgrind_control", f"--dump={label}", str(pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return dump


def executed_addresses(dump: Path) -> list[int]:
    """The instruction addresses of the binary with cost in a callgrind dump (written with
    --dump-instr=yes --compress-pos=no --compress-strings=no), in order. Callgrind writes them
    relative to where the object was loaded: the addresses of the linker's map."""
    addresses, current_object = [], ""
    for line in dump.read_text().splitlines():
        if line.startswith("ob="):
            current_object = line[3:]
        elif line.startswith("0x") and current_object == str(BINARY):
            addresses.append(int(line.split()[0], 16))
    return addresses


def page_fault_pass(rotations: Rotations, out: Path, endpoint: str) -> list[int]:
    """The addresses of the binary's page faults, natively, relative to where it was loaded."""
    record = out / f"faults-{endpoint}.data"
    rotations.run(endpoint, ("perf", "record", "--quiet", "-e", "page-faults", "-c", "1", "-d", "-o", str(record), "--"))
    script = subprocess.run(["perf", "script", "-i", str(record), "--show-mmap-events", "-F", "addr"],
                            capture_output=True, text=True, check=True).stdout
    addresses, base = [], None
    for line in script.splitlines():
        # PERF_RECORD_MMAP2 123/123: [0x55d0c1c00000(0x1cd000) @ 0 fe:00 ...]: r--p /path/iam-key-rotator
        mapping = re.search(r"PERF_RECORD_MMAP2.*\[(0x[0-9a-f]+)\(0x[0-9a-f]+\) @ (0x[0-9a-f]+|0) .*\]: \S+ (\S+)$", line)
        if mapping:
            if mapping.group(3) == str(BINARY) and int(mapping.group(2), 16) == 0:
                base = int(mapping.group(1), 16)
        elif base is not None and re.fullmatch(r"\s*[0-9a-f]+", line):
            addresses.append(int(line, 16) - base)
    return addresses


def write_list(groups: dict[str, dict[str, int]]) -> None:
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("".join(f"{name}\n" for group in groups.values() for name in group))


def check(link_map: Path, list_path: Path = OUTPUT) -> None:
    """--check MAP (scripts/build.sh): fails when the list no longer fits the build, which would
    quietly lose the layout (memory and cold start) after a dependency changed."""
    sections = function_sections(link_map)
    listed = list_path.read_text().split()
    position = {name: i for i, (_, _, name) in enumerate(sections)}
    found = [position[name] for name in listed if name in position]
    first = sum(1 for i in found if i < len(listed))
    print(f"layout: {len(found)} of the {len(listed)} functions in {list_path.name} are in this build, "
          f"{first} of them at the start of .text")
    if len(found) < 0.9 * len(listed) or first < 0.9 * len(found):
        sys.exit(f"{list_path} no longer fits the build (the dependencies changed?): "
                 "run `make hot-symbols` (needs valgrind and perf) and commit the new list")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        return check(Path(sys.argv[2]))
    out = Path(tempfile.mkdtemp(prefix="hot-symbols-"))
    sections = build()
    rotations = Rotations()
    try:
        starts = [start for start, _, _ in sections]
        ran: dict[str, dict[str, int]] = {}
        for endpoint in ("https", "http"):
            ran[endpoint] = {}
            for address in callgrind_pass(rotations, out, endpoint):
                if (section := section_of(sections, starts, address)) is not None:
                    ran[endpoint].setdefault(section[2], section[1])
        # Code both runs need first, in the order it ran over HTTPS; then the little that only
        # plain HTTP needs (the local stack: make bench, cargo lambda watch); then what only HTTPS
        # needs (TLS, about 380 KiB). Lambda, over HTTPS, runs all three parts; the local stack
        # the first two, and keeps none of the TLS code resident.
        groups = {
            "both": {name: size for name, size in ran["https"].items() if name in ran["http"]},
            "http": {name: size for name, size in ran["http"].items() if name not in ran["https"]},
            "https": {name: size for name, size in ran["https"].items() if name not in ran["http"]},
        }
        if sum(map(len, groups.values())) < 100:
            sys.exit(f"only {sum(map(len, groups.values()))} functions found: see the dumps in {out}")
        report("callgrind", groups)
        other = {"https": "http", "http": "https"}
        for round_ in range(1, NATIVE_ROUNDS + 1):
            write_list(groups)
            sections = build()
            starts = [start for start, _, _ in sections]
            moved = 0
            for endpoint in ("https", "http"):
                for address in page_fault_pass(rotations, out, endpoint):
                    section = section_of(sections, starts, address)
                    if section is None or section[2] in groups["both"] or section[2] in groups[endpoint]:
                        continue
                    # A function this run needs natively that callgrind did not see it need.
                    if groups[other[endpoint]].pop(section[2], None) is not None:
                        groups["both"][section[2]] = section[1]
                    else:
                        groups[endpoint][section[2]] = section[1]
                    moved += 1
            report(f"native round {round_}: {moved} functions added or moved", groups)
            if not moved:
                break
        write_list(groups)
    finally:
        rotations.stop()
    total = sum(size for _, size, _ in sections)
    print(f"{sum(map(len, groups.values()))} of {len(sections)} functions ({total // 1024} KiB of code) -> {OUTPUT.relative_to(ROOT)}")


def report(what: str, groups: dict[str, dict[str, int]]) -> None:
    sizes = ", ".join(f"{name} {sum(group.values()) // 1024} KiB" for name, group in groups.items())
    print(f"{what}: code run by {sizes}")


if __name__ == "__main__":
    main()
