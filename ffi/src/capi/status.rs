//! `dislog_status`: the result code of every fallible function.

use std::ffi::c_char;

use dislog_core::ErrorCode;

/// The result of a fallible dislog function. `DISLOG_OK` (0) is success;
/// every other value is an error whose human-readable detail
/// `dislog_last_error_message()` returns on the same thread. The numbers are
/// stable: new codes are only ever added at the end.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum dislog_status {
    /// Success.
    DISLOG_OK = 0,
    /// A file system operation failed (missing file, permission denied, disk
    /// full, a write on a log opened read-only, ...).
    DISLOG_ERR_IO = 1,
    /// Another writer (in this or another process) holds the log directory.
    DISLOG_ERR_LOCKED = 2,
    /// The `dislog_config` cannot work; the message names the field.
    DISLOG_ERR_INVALID_CONFIG = 3,
    /// An argument is outside what the call accepts (an empty batch, an
    /// empty path, a truncation point past the end, ...).
    DISLOG_ERR_INVALID_ARGUMENT = 4,
    /// The offset is not held by the log (below the lowest offset or at or
    /// past the next offset).
    DISLOG_ERR_OUT_OF_RANGE = 5,
    /// A record is larger than `max_record_bytes` (or than a segment).
    DISLOG_ERR_RECORD_TOO_LARGE = 6,
    /// Stored bytes fail their checksum or contradict each other.
    DISLOG_ERR_CORRUPT = 7,
    /// A file of the log has a header this build cannot read.
    DISLOG_ERR_FORMAT = 8,
    /// Bytes given to a restore are not a valid dislog snapshot.
    DISLOG_ERR_INVALID_SNAPSHOT = 9,
    /// An earlier write failed; the log refuses writes until reopened
    /// (reads still work).
    DISLOG_ERR_POISONED = 10,
    /// A required pointer argument is NULL (or a data pointer is NULL with a
    /// non-zero length).
    DISLOG_ERR_NULL_ARGUMENT = 11,
    /// The caller's buffer is too small; the needed length was written to
    /// the length out-parameter.
    DISLOG_ERR_BUFFER_TOO_SMALL = 12,
    /// The handle still has open views or iterators: free them first.
    DISLOG_ERR_IN_USE = 13,
    /// The calling thread holds a `dislog_view` of this log; any other call
    /// on the log from this thread could deadlock, so it is refused. Free
    /// the view first.
    DISLOG_ERR_VIEW_HELD = 14,
    /// A bug inside dislog panicked; the panic was caught at the boundary.
    /// The handle may be left in any state: close it.
    DISLOG_ERR_PANIC = 15,
}

impl dislog_status {
    /// The name of the code without its prefix, e.g. `"OUT_OF_RANGE"`: the
    /// same strings as [`ErrorCode::as_str`] for the engine's codes.
    pub fn as_str(self) -> &'static str {
        self.as_cstr().to_str().unwrap_or("UNKNOWN")
    }

    fn as_cstr(self) -> &'static std::ffi::CStr {
        use dislog_status::*;
        match self {
            DISLOG_OK => c"OK",
            DISLOG_ERR_IO => c"IO",
            DISLOG_ERR_LOCKED => c"LOCKED",
            DISLOG_ERR_INVALID_CONFIG => c"INVALID_CONFIG",
            DISLOG_ERR_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
            DISLOG_ERR_OUT_OF_RANGE => c"OUT_OF_RANGE",
            DISLOG_ERR_RECORD_TOO_LARGE => c"RECORD_TOO_LARGE",
            DISLOG_ERR_CORRUPT => c"CORRUPT",
            DISLOG_ERR_FORMAT => c"FORMAT",
            DISLOG_ERR_INVALID_SNAPSHOT => c"INVALID_SNAPSHOT",
            DISLOG_ERR_POISONED => c"POISONED",
            DISLOG_ERR_NULL_ARGUMENT => c"NULL_ARGUMENT",
            DISLOG_ERR_BUFFER_TOO_SMALL => c"BUFFER_TOO_SMALL",
            DISLOG_ERR_IN_USE => c"IN_USE",
            DISLOG_ERR_VIEW_HELD => c"VIEW_HELD",
            DISLOG_ERR_PANIC => c"PANIC",
        }
    }

    /// Every status, in numeric order.
    pub const ALL: [dislog_status; 16] = {
        use dislog_status::*;
        [
            DISLOG_OK,
            DISLOG_ERR_IO,
            DISLOG_ERR_LOCKED,
            DISLOG_ERR_INVALID_CONFIG,
            DISLOG_ERR_INVALID_ARGUMENT,
            DISLOG_ERR_OUT_OF_RANGE,
            DISLOG_ERR_RECORD_TOO_LARGE,
            DISLOG_ERR_CORRUPT,
            DISLOG_ERR_FORMAT,
            DISLOG_ERR_INVALID_SNAPSHOT,
            DISLOG_ERR_POISONED,
            DISLOG_ERR_NULL_ARGUMENT,
            DISLOG_ERR_BUFFER_TOO_SMALL,
            DISLOG_ERR_IN_USE,
            DISLOG_ERR_VIEW_HELD,
            DISLOG_ERR_PANIC,
        ]
    };
}

impl From<ErrorCode> for dislog_status {
    fn from(code: ErrorCode) -> Self {
        use dislog_status::*;
        match code {
            ErrorCode::Io => DISLOG_ERR_IO,
            ErrorCode::Locked => DISLOG_ERR_LOCKED,
            ErrorCode::InvalidConfig => DISLOG_ERR_INVALID_CONFIG,
            ErrorCode::InvalidArgument => DISLOG_ERR_INVALID_ARGUMENT,
            ErrorCode::OutOfRange => DISLOG_ERR_OUT_OF_RANGE,
            ErrorCode::RecordTooLarge => DISLOG_ERR_RECORD_TOO_LARGE,
            ErrorCode::Corrupt => DISLOG_ERR_CORRUPT,
            ErrorCode::Format => DISLOG_ERR_FORMAT,
            ErrorCode::InvalidSnapshot => DISLOG_ERR_INVALID_SNAPSHOT,
            ErrorCode::Poisoned => DISLOG_ERR_POISONED,
            // A code added to the engine later and not yet mapped here.
            _ => DISLOG_ERR_IO,
        }
    }
}

/// The name of a status code without its prefix, e.g. `"OUT_OF_RANGE"` for
/// `DISLOG_ERR_OUT_OF_RANGE` and `"OK"` for `DISLOG_OK`; `"UNKNOWN"` for a
/// number that is no status. The string is static: never free it.
#[no_mangle]
pub extern "C" fn dislog_status_str(status: u32) -> *const c_char {
    let found = dislog_status::ALL
        .iter()
        .find(|s| **s as u32 == status)
        .map_or(c"UNKNOWN", |s| s.as_cstr());
    found.as_ptr()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn numbers_are_distinct_and_dense() {
        for (i, status) in dislog_status::ALL.iter().enumerate() {
            assert_eq!(*status as u32 as usize, i, "{status:?}");
        }
    }

    #[test]
    fn engine_codes_keep_their_names() {
        for code in [
            ErrorCode::Io,
            ErrorCode::Locked,
            ErrorCode::InvalidConfig,
            ErrorCode::InvalidArgument,
            ErrorCode::OutOfRange,
            ErrorCode::RecordTooLarge,
            ErrorCode::Corrupt,
            ErrorCode::Format,
            ErrorCode::InvalidSnapshot,
            ErrorCode::Poisoned,
        ] {
            assert_eq!(dislog_status::from(code).as_str(), code.as_str());
        }
    }
}
