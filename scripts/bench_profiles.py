#!/usr/bin/env python3
"""make bench-profiles: the release profile chosen by measurement. Builds the rotator and the
floor under each candidate profile (each in its own target directory, from a snapshot of HEAD so
that editing the tree meanwhile changes nothing), then measures each as `make bench` does and
prints one row per profile. About 4 minutes a profile on 2 cores, the first time.

Usage: scripts/bench_profiles.py [NAME ...]   (default: every profile below)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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
    "no-pie": ("relocation-model = static (no ASLR for the binary)", {"RUSTFLAGS": "-C relocation-model=static"}),
}


def build(name: str, source: Path) -> tuple[Path, float]:
    target = Path(os.environ.get("HOME", "/tmp")) / ".cache" / "iam-key-rotator" / "profiles" / name
    env = {**os.environ, **PROFILES[name][1], "CARGO_TARGET_DIR": str(target)}
    started = time.monotonic()
    subprocess.run(["cargo", "build", "--quiet", "--release", "--bin", "iam-key-rotator", "--example", "hello_lambda"],
                   cwd=source, env=env, check=True)
    return target / "release", time.monotonic() - started


def measure(release: Path, stack: Stack, world: World, creds: dict[str, str]) -> dict:
    bench.ROTATOR, bench.FLOOR = release / "iam-key-rotator", release / "examples" / "hello_lambda"
    ours, floor = bench.cold_start(bench.ROTATOR, bench.FLOOR)
    run = bench.rotation(stack, world, creds)
    _, floor_memory = bench.floor_rss()
    return {
        "cold": ours, "cold_ratio": ours / floor, "cpu": run["cpu"] * 1000,
        "rss": run["rss"]["VmHWM"] / 1024, "rss_ratio": run["rss"]["VmHWM"] / floor_memory["VmHWM"],
        "anon": run["rss"]["RssAnon"] / 1024,
        "steps": sum(run["steps"][s]["took"] for s in bench.STEPS if s != "createSecret") * 1000,
        "size": bench.ROTATOR.stat().st_size / 1e6, "zip": bench.zip_size(bench.ROTATOR) / 1e6,
    }


def main() -> None:
    names = sys.argv[1:] or list(PROFILES)
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        sys.exit(f"unknown profile(s) {unknown}: choose from {list(PROFILES)}")
    with tempfile.TemporaryDirectory(prefix="bench-profiles-") as tmp:
        source = Path(tmp) / "src"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(source), "HEAD"], cwd=ROOT, check=True)
        try:
            builds = {}
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
        rows = {name: measure(builds[name][0], stack, world, creds) for name in names}
    finally:
        stack.stop()
    print(f"\nrelease profiles compared, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; ratios against the floor built the same way")
    print("| profile | cold start | ratio | CPU/rotation | peak RSS | ratio | of which anon | set+test+finish | binary | zip | build (this run) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        r = rows[name]
        print(f"| {name}: {PROFILES[name][0]} | {r['cold']:.1f} ms | {r['cold_ratio']:.2f}x | {r['cpu']:.0f} ms | {r['rss']:.1f} MiB | "
              f"{r['rss_ratio']:.2f}x | {r['anon']:.1f} MiB | {r['steps']:.0f} ms | {r['size']:.1f} MB | {r['zip']:.1f} MB | {builds[name][1]:.0f} s |")


if __name__ == "__main__":
    main()
