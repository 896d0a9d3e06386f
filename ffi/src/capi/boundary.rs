//! The panic boundary and the checks every argument goes through.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use super::error;
use super::status::dislog_status;

/// Why a call failed: the status it returns and the message
/// `dislog_last_error_message` gives.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: dislog_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: dislog_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn null(name: &str) -> Self {
        Self::new(
            dislog_status::DISLOG_ERR_NULL_ARGUMENT,
            format!("argument `{name}` is NULL"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(dislog_status::DISLOG_ERR_INVALID_ARGUMENT, message)
    }
}

impl From<dislog_core::Error> for Failure {
    fn from(e: dislog_core::Error) -> Self {
        Self::new(e.code().into(), e.to_string())
    }
}

/// The result of the body of an exported function.
pub(crate) type Outcome = Result<(), Failure>;

/// Runs the body of an exported function: clears the thread's last error,
/// catches any panic (never unwinding into C), and turns the outcome into a
/// status, recording the failure's message.
pub(crate) fn run(body: impl FnOnce() -> Outcome) -> dislog_status {
    error::clear();
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return dislog_status::DISLOG_OK,
        Ok(Err(failure)) => failure,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            drop(payload);
            Failure::new(
                dislog_status::DISLOG_ERR_PANIC,
                format!("internal panic in dislog (a bug, please report it): {what}"),
            )
        }
    };
    error::set(&failure.message);
    failure.status
}

/// Runs the body of an exported function that returns no status (the free
/// functions): a panic is caught and swallowed.
pub(crate) fn run_quiet(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// A shared reference from a pointer the caller promised to be valid when
/// not NULL.
///
/// # Safety
/// `ptr` is NULL or points to a valid, aligned `T` that outlives `'a` and is
/// not written through another pointer meanwhile.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract above; `as_ref` handles NULL.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A mutable reference from a pointer to an initialized `T`.
///
/// # Safety
/// `ptr` is NULL or points to a valid, aligned, initialized `T` used by no
/// one else during `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller's contract above; `as_mut` handles NULL.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// Checks a required out-parameter before any work is done.
pub(crate) fn arg_out<T>(ptr: *mut T, name: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(ptr)
    }
}

/// Writes `value` through an out-parameter, if it is not NULL. The target
/// may be uninitialized memory.
///
/// # Safety
/// `ptr` is NULL or valid for an aligned write of a `T`.
pub(crate) unsafe fn put<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL and valid for writes by the caller's contract;
        // `write` does not read or drop the old (maybe uninitialized) value.
        unsafe { ptr.write(value) }
    }
}

/// The bytes of a `(pointer, length)` pair. A NULL pointer is accepted only
/// with a zero length (an empty payload).
///
/// # Safety
/// When `len > 0`, `ptr` points to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn arg_bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "length of `{name}` ({len}) is larger than any buffer"
        )));
    }
    // SAFETY: non-NULL, `len` readable bytes by the caller's contract, and
    // `len <= isize::MAX` as `from_raw_parts` requires.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A path from a NUL-terminated C string (bytes, not necessarily UTF-8).
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn arg_path(ptr: *const c_char, name: &str) -> Result<PathBuf, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.is_empty() {
        return Err(Failure::invalid(format!("path `{name}` is empty")));
    }
    Ok(PathBuf::from(OsStr::from_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::ffi::CStr;

    use super::*;
    use crate::capi::dislog_last_error_message;

    fn last_error() -> String {
        // SAFETY: the library returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(dislog_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = run(|| panic!("boom at the boundary"));
        assert_eq!(status, dislog_status::DISLOG_ERR_PANIC);
        assert!(
            last_error().contains("boom at the boundary"),
            "{}",
            last_error()
        );
        let status = run(|| std::panic::panic_any(42_u8));
        assert_eq!(status, dislog_status::DISLOG_ERR_PANIC);
        assert!(last_error().contains("unknown panic"));
    }

    #[test]
    fn success_clears_the_message() {
        assert_eq!(
            run(|| Err(Failure::invalid("bad"))),
            dislog_status::DISLOG_ERR_INVALID_ARGUMENT
        );
        assert_eq!(last_error(), "bad");
        assert_eq!(run(|| Ok(())), dislog_status::DISLOG_OK);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn interior_nul_bytes_do_not_cut_the_message() {
        run(|| Err(Failure::invalid("a\0b")));
        assert_eq!(last_error(), "a\\0b");
    }

    #[test]
    fn engine_errors_keep_their_code_and_text() {
        let e = dislog_core::Error::OutOfRange {
            offset: 9,
            lowest: None,
            next: 0,
        };
        let text = e.to_string();
        let f = Failure::from(e);
        assert_eq!(f.status, dislog_status::DISLOG_ERR_OUT_OF_RANGE);
        assert_eq!(f.message, text);
    }

    #[test]
    fn argument_checks() {
        // SAFETY: NULL and zero lengths only: nothing is dereferenced.
        unsafe {
            assert_eq!(arg_bytes(std::ptr::null(), 0, "d").unwrap(), b"");
            let e = arg_bytes(std::ptr::null(), 3, "d").unwrap_err();
            assert_eq!(e.status, dislog_status::DISLOG_ERR_NULL_ARGUMENT);
            assert!(e.message.contains("`d`"));
            let e = arg_path(std::ptr::null(), "path").unwrap_err();
            assert_eq!(e.status, dislog_status::DISLOG_ERR_NULL_ARGUMENT);
            let e = arg_path(c"".as_ptr(), "path").unwrap_err();
            assert_eq!(e.status, dislog_status::DISLOG_ERR_INVALID_ARGUMENT);
            assert_eq!(
                arg_path(c"/tmp/x".as_ptr(), "path").unwrap(),
                PathBuf::from("/tmp/x")
            );
            assert!(arg_ref::<u8>(std::ptr::null(), "r").is_err());
            assert!(arg_mut::<u8>(std::ptr::null_mut(), "m").is_err());
            assert!(arg_out::<u8>(std::ptr::null_mut(), "o").is_err());
            put::<u8>(std::ptr::null_mut(), 1); // ignored, no crash
        }
    }
}
