//! The library's version.

use std::ffi::c_char;

/// The library version as a static string, e.g. `"0.1.0"`. Never free it.
#[no_mangle]
pub extern "C" fn dislog_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

fn part(text: &str) -> u32 {
    text.parse().unwrap_or(0)
}

/// The major part of the library version.
#[no_mangle]
pub extern "C" fn dislog_version_major() -> u32 {
    part(env!("CARGO_PKG_VERSION_MAJOR"))
}

/// The minor part of the library version.
#[no_mangle]
pub extern "C" fn dislog_version_minor() -> u32 {
    part(env!("CARGO_PKG_VERSION_MINOR"))
}

/// The patch part of the library version.
#[no_mangle]
pub extern "C" fn dislog_version_patch() -> u32 {
    part(env!("CARGO_PKG_VERSION_PATCH"))
}

/// The on-disk format version this library writes (and the newest it
/// reads).
#[no_mangle]
pub extern "C" fn dislog_format_version() -> u32 {
    dislog_core::FORMAT_VERSION
}
