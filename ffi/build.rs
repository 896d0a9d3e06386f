//! Generates `include/dislog.h` from the C ABI in `src/capi` with cbindgen.
//!
//! The header is checked in; the test command rebuilds it and fails on any
//! difference. It is rewritten only when its bytes change, so builds that
//! change nothing leave the file (and its timestamp) alone.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/capi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let include = crate_dir.join("../include");
    if !include.is_dir() {
        // Built outside the repository (e.g. as a packaged crate): nothing to update.
        return;
    }
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(config) => config,
        Err(e) => panic!("ffi/cbindgen.toml: {e}"),
    };
    let mut header = Vec::new();
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => bindings.write(&mut header),
        Err(e) => panic!("cbindgen could not generate include/dislog.h: {e}"),
    }
    let target = include.join("dislog.h");
    if std::fs::read(&target).ok().as_deref() != Some(header.as_slice()) {
        if let Err(e) = std::fs::write(&target, &header) {
            panic!("cannot write {}: {e}", target.display());
        }
    }
}
