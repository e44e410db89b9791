//! Hands link/hot-symbols.txt to the linker for release builds of the function, so the functions a
//! cold start and a rotation run sit together at the start of .text (scripts/hot_symbols.py makes
//! the list; README "Performance": less of the binary resident, fewer page faults at start).
//!
//! Only where the linker is known to be lld: x86_64 Linux with Rust's default linker (rust-lld
//! since Rust 1.90) and no linker chosen in the configuration or RUSTFLAGS. GNU ld has no
//! --symbol-ordering-file and `zig cc` (cargo-lambda's cross-compiler, used for arm64) refuses
//! linker flags it does not know, so other builds link as before. The list changes where code
//! goes, never what it does: names the build does not have are skipped.

use std::env;
use std::path::Path;
use std::process::Command;

const LIST: &str = "link/hot-symbols.txt";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-env-changed=IAM_KEY_ROTATOR_LINK_MAP");
    if !(release_build_for_x86_64_linux() && linker_is_rust_lld()) {
        return;
    }
    // scripts/hot_symbols.py asks for the linker's map (where each function went) of a build
    // otherwise identical to the release one: Cargo hashes the profile into the symbol names, so
    // a build with its symbols kept would name every function differently.
    if let Some(map) = env::var_os("IAM_KEY_ROTATOR_LINK_MAP") {
        let map = Path::new(&map).display();
        println!("cargo:rustc-link-arg-bin=iam-key-rotator=-Wl,--no-demangle,-Map={map}");
    }
    let list = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join(LIST);
    if list.exists() {
        let list = list.display();
        println!("cargo:rustc-link-arg-bin=iam-key-rotator=-Wl,--symbol-ordering-file={list},--no-warn-symbol-ordering");
    }
}

fn release_build_for_x86_64_linux() -> bool {
    env::var("PROFILE").as_deref() == Ok("release")
        && env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
}

/// Rust's own lld is the default linker of x86_64-unknown-linux-gnu from 1.90 on, unless a linker
/// is configured (RUSTC_LINKER) or RUSTFLAGS say otherwise.
fn linker_is_rust_lld() -> bool {
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if env::var_os("RUSTC_LINKER").is_some() || flags.contains("link") {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc).arg("--version").output().ok();
    let minor = version.as_ref().and_then(|out| {
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .nth(1)?
            .split('.')
            .nth(1)?
            .parse::<u32>()
            .ok()
    });
    minor.is_some_and(|minor| minor >= 90)
}
