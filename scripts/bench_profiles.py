#!/usr/bin/env python3
"""make bench-profiles: the release profile chosen by measurement. Builds the rotator and the
floor under each candidate profile (each in its own target directory, from a snapshot of HEAD so
that editing the tree meanwhile changes nothing), then measures each as `make bench` does and
prints one row per profile. About 4 minutes a profile on 2 cores, the first time.

Usage: scripts/bench_profiles.py [--no-build] [NAME ...]   (default: every profile below;
--no-build measures what an earlier run built)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
from stack.harness import Stack, World  # noqa: E402

# name -> (what it changes, environment overriding Cargo.toml's [profile.release]; the rest of the
# profile is Cargo.toml's: lto = true, codegen-units = 1, strip = true, panic = "abort")
PROFILES: dict[str, tuple[str, dict[str, str]]] = {
    "opt-s": ("opt-level = \"s\"", {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "s"}),
    "opt-z": ("opt-level = \"z\"", {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "z"}),
    "opt-3": ("opt-level = 3", {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "3"}),
    "thin-lto": ("opt-level 3, lto = \"thin\", codegen-units = 16",
                 {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "3", "CARGO_PROFILE_RELEASE_LTO": "thin", "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "16"}),
    "unwind": ("panic = \"unwind\"", {"CARGO_PROFILE_RELEASE_PANIC": "unwind"}),
}


PROFILES_DIR = Path(os.environ.get("HOME", "/tmp")) / ".cache" / "iam-key-rotator" / "profiles"


def build(name: str, source: Path) -> tuple[Path, float]:
    target = PROFILES_DIR / name
    env = {**os.environ, **PROFILES[name][1], "CARGO_TARGET_DIR": str(target)}
    started = time.monotonic()
    # Two builds, as in make bench: with the example, the function would get the dev-dependencies'
    # features. Both with cargo lambda's target and flags, as make bench measures them (every
    # profile renames every function, so link/hot-symbols.txt can only lay out the chosen one).
    for what in (["--bin", "iam-key-rotator"], ["--example", "hello_lambda"]):
        subprocess.run(["cargo", "build", "--quiet", "--release", *bench.CARGO_LAMBDA_FLAGS, *what],
                       cwd=source, env=env, check=True)
    return target / bench.TRIPLE / "release", time.monotonic() - started


ROTATIONS = 3  # per profile; the median is reported


def measure_all(builds: dict[str, tuple[Path, float]], stack: Stack, world: World, creds: dict[str, str]) -> dict[str, dict]:
    """Cold starts of every profile's rotator and floor taking turns (so a busy moment of the machine
    falls on all of them), then ROTATIONS rotations each."""
    binaries = []
    for release, _ in builds.values():
        binaries += [release / "iam-key-rotator", release / "examples" / "hello_lambda"]
    medians = bench.cold_start(*binaries)
    rows = {}
    for i, (name, (release, _)) in enumerate(builds.items()):
        ours, floor = medians[2 * i], medians[2 * i + 1]
        bench.ROTATOR, bench.FLOOR = release / "iam-key-rotator", release / "examples" / "hello_lambda"
        runs = [bench.rotation(stack, world, creds) for _ in range(ROTATIONS)]
        _, floor_memory = bench.floor_rss()
        median = statistics.median
        rss = median([r["rss"]["VmHWM"] for r in runs])
        rows[name] = {
            "cold": ours, "cold_ratio": ours / floor, "cpu": median([r["cpu"] for r in runs]) * 1000,
            "rss": rss / 1024, "rss_ratio": rss / floor_memory["VmHWM"],
            "anon": median([r["rss"]["RssAnon"] for r in runs]) / 1024,
            "steps": median([sum(r["steps"][s]["took"] for s in bench.STEPS if s != "createSecret") for r in runs]) * 1000,
            "size": bench.ROTATOR.stat().st_size / 1e6, "zip": bench.zip_size(bench.ROTATOR) / 1e6,
        }
    return rows


def main() -> None:
    args = sys.argv[1:]
    no_build = "--no-build" in args
    names = [a for a in args if a != "--no-build"] or list(PROFILES)
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        sys.exit(f"unknown profile(s) {unknown}: choose from {list(PROFILES)}")
    builds: dict[str, tuple[Path, float]] = {}
    if no_build:
        builds = {name: (PROFILES_DIR / name / bench.TRIPLE / "release", 0.0) for name in names}
    else:
        # A fixed path: Cargo's fingerprints include it, so a second run rebuilds nothing.
        source = PROFILES_DIR / "source"
        subprocess.run(["git", "worktree", "remove", "--force", str(source)], cwd=ROOT, capture_output=True)
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(source), "HEAD"], cwd=ROOT, check=True)
        try:
            for name in names:
                builds[name] = build(name, source)
                print(f"built {name} in {builds[name][1]:.0f} s", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(source)], cwd=ROOT, check=False)
    stack = Stack("bench-profiles")
    try:
        world = World(stack)
        creds = bench.function_user(world)
        world.secret_material.clear()
        rows = measure_all(builds, stack, world, creds)
    finally:
        stack.stop()
    print(f"\nrelease profiles compared, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; ratios against the floor built the same way")
    print(f"cold start: median of {bench.RUNS}; per rotation: median of {ROTATIONS}")
    print("| profile | cold start | ratio | CPU/rotation | peak RSS | ratio | of which anon | set+test+finish | binary | zip | build (this run) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        r = rows[name]
        print(f"| {name}: {PROFILES[name][0]} | {r['cold']:.1f} ms | {r['cold_ratio']:.2f}x | {r['cpu']:.0f} ms | {r['rss']:.1f} MiB | "
              f"{r['rss_ratio']:.2f}x | {r['anon']:.1f} MiB | {r['steps']:.0f} ms | {r['size']:.1f} MB | {r['zip']:.1f} MB | {builds[name][1]:.0f} s |")


if __name__ == "__main__":
    main()
