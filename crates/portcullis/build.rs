//! Link-time layout of the release binary, for resident memory.
//!
//! The kernel maps 64 KiB of the executable around every page the process touches
//! (fault-around), so when the few thousand functions a running server executes are scattered
//! over 14 MB of code, nearly all of it ends up resident. `link-order.txt` lists those
//! functions (recorded by `bench/link-order/run.sh`); lld's `--symbol-ordering-file` places
//! them first and together, which took the executable's resident code from 12.3 to about 5 MiB.
//! `-z pack-relative-relocs` shrinks the 0.5 MiB relocation table the loader reads at start-up
//! to a few KiB (glibc 2.36 or later).
//!
//! Both are layout only: the same code runs, and a name the file lists that the build no longer
//! has is skipped. They are applied only where the linker is known to be lld (Rust's default
//! on x86_64 Linux since 1.90) and nobody chose another; `PORTCULLIS_LINK_ORDER=0` turns them off.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-env-changed=PORTCULLIS_LINK_ORDER");
    if !default_lld_release_build() {
        return;
    }
    let order = format!("{}/link-order.txt", env_or_empty("CARGO_MANIFEST_DIR"));
    println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={order}");
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    if glibc_minor().is_some_and(|minor| minor >= 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// A release build for x86_64 Linux on the same machine, linked by rustc's own lld.
fn default_lld_release_build() -> bool {
    let chosen_linker = env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "link-self-contained"]
            .iter()
            .any(|flag| env_or_empty("CARGO_ENCODED_RUSTFLAGS").contains(flag));
    env_or_empty("PORTCULLIS_LINK_ORDER") != "0"
        && env_or_empty("PROFILE") == "release"
        && env_or_empty("TARGET") == "x86_64-unknown-linux-gnu"
        && env_or_empty("HOST") == env_or_empty("TARGET")
        && !chosen_linker
        && rustc_minor().is_some_and(|minor| minor >= 90)
}

fn env_or_empty(name: &str) -> String {
    env::var(name).unwrap_or_default()
}

/// The minor version of the compiler building us (`rustc 1.95.0 (...)` -> 95).
fn rustc_minor() -> Option<u32> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("-V").output().ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    minor_of(version.split_whitespace().nth(1)?, "1")
}

/// The minor version of the C library the binary will run against (`glibc 2.36` -> 36).
fn glibc_minor() -> Option<u32> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    minor_of(version.split_whitespace().nth(1)?, "2")
}

fn minor_of(version: &str, major: &str) -> Option<u32> {
    let mut parts = version.split('.');
    (parts.next()? == major).then_some(())?;
    parts.next()?.parse().ok()
}
