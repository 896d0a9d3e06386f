//! The thread-local detail message of the last failed call.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error (interior NUL bytes are
/// replaced, so the text is never cut short).
pub(crate) fn set(message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // A thread being torn down has no slot left: the message is dropped.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = text;
        }
    });
}

/// Forgets this thread's last error (every call starts with it).
pub(crate) fn clear() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            if !slot.as_bytes().is_empty() {
                *slot = CString::default();
            }
        }
    });
}

/// The human-readable detail of the last dislog call made by the calling
/// thread that failed, or `""` when that thread's last call succeeded. Each
/// thread has its own message.
///
/// The string is owned by the library: it stays valid until the calling
/// thread's next dislog call (other than this one and the version functions);
/// copy it to keep it. Never free it. Never returns NULL.
#[no_mangle]
pub extern "C" fn dislog_last_error_message() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| match slot.try_borrow() {
            Ok(text) => text.as_ptr(),
            Err(_) => c"".as_ptr(),
        })
        .unwrap_or(c"".as_ptr())
}
