//! JavaScript errors with a stable `code`.
//!
//! Every failure crosses the boundary as a real JS `Error` (a `TypeError`
//! for a value of the wrong type, a `RangeError` for a value out of range,
//! a plain `Error` otherwise) carrying a `code` property: one of core's
//! [`ErrorCode::as_str`] strings or one of the binding's own codes below.

use dislog_core::{Error, ErrorCode, StorageErrorKind};
use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// A value of the wrong JS type (a number where bytes were expected...).
pub const INVALID_TYPE: &str = "INVALID_TYPE";
/// An integer past `Number.MAX_SAFE_INTEGER` (2^53 - 1), in or out.
pub const UNSAFE_INTEGER: &str = "UNSAFE_INTEGER";
/// A method called on a log (or iterator of a log) after `free()`.
pub const FREED: &str = "FREED";
/// The wasm memory could not hold what an operation needed (a copy of the
/// input, a snapshot, a record): nothing was changed, the log stays usable.
pub const OUT_OF_MEMORY: &str = "OUT_OF_MEMORY";
/// Core's code for a bad argument, used for bad numbers too.
pub const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";
/// Core's code for a bad option.
pub const INVALID_CONFIG: &str = "INVALID_CONFIG";

/// Which JS constructor an error is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `TypeError`.
    Type,
    /// `RangeError`.
    Range,
    /// `Error`.
    Plain,
}

/// A binding-level failure, turned into a JS error at the boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsError {
    /// The JS constructor to use.
    pub kind: Kind,
    /// The stable code.
    pub code: &'static str,
    /// The readable message.
    pub message: String,
}

impl JsError {
    /// A `TypeError` with code `INVALID_TYPE`.
    pub fn invalid_type(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Type,
            code: INVALID_TYPE,
            message: message.into(),
        }
    }

    /// A `RangeError` with the given code.
    pub fn range(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Range,
            code,
            message: message.into(),
        }
    }

    /// An `Error` with code `FREED`.
    pub fn freed() -> Self {
        Self::freed_object("log")
    }

    /// An `Error` with code `FREED` naming what was freed (`"log"`,
    /// `"iterator"`).
    pub fn freed_object(what: &str) -> Self {
        Self {
            kind: Kind::Plain,
            code: FREED,
            message: format!(
                "the {what} was freed: free() was called on it, so it can no longer be used"
            ),
        }
    }

    /// A `RangeError` with code `OUT_OF_MEMORY`: `bytes` more bytes of wasm
    /// memory were needed for `what`.
    pub fn out_of_memory(bytes: u64, what: &str) -> Self {
        Self::range(
            OUT_OF_MEMORY,
            format!("out of memory: {what} needs {bytes} more bytes than the wasm memory can give"),
        )
    }

    /// An `Error` with code `INVALID_CONFIG`.
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Plain,
            code: INVALID_CONFIG,
            message: message.into(),
        }
    }
}

impl From<Error> for JsError {
    fn from(e: Error) -> Self {
        // The only storage here is memory: "no space" means the wasm memory
        // could not grow.
        if let Error::Storage(storage) = &e {
            if storage.kind() == StorageErrorKind::NoSpace {
                return Self::range(OUT_OF_MEMORY, e.to_string());
            }
        }
        let code = e.code();
        let kind = match code {
            ErrorCode::OutOfRange | ErrorCode::RecordTooLarge | ErrorCode::InvalidArgument => {
                Kind::Range
            }
            _ => Kind::Plain,
        };
        Self {
            kind,
            code: code.as_str(),
            message: e.to_string(),
        }
    }
}

impl From<JsError> for JsValue {
    fn from(e: JsError) -> Self {
        let error: JsValue = match e.kind {
            Kind::Type => js_sys::TypeError::new(&e.message).into(),
            Kind::Range => js_sys::RangeError::new(&e.message).into(),
            Kind::Plain => js_sys::Error::new(&e.message).into(),
        };
        // Setting a property on a fresh, extensible Error object cannot fail;
        // were it to, the error still carries its message.
        let _ = Reflect::set(&error, &"code".into(), &e.code.into());
        error
    }
}

/// The binding's result type.
pub type Result<T, E = JsError> = core::result::Result<T, E>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_code_and_text() {
        let e = JsError::from(Error::OutOfRange {
            offset: 9,
            lowest: Some(0),
            next: 3,
        });
        assert_eq!(e.code, "OUT_OF_RANGE");
        assert_eq!(e.kind, Kind::Range);
        assert!(e.message.contains("offset 9"), "{}", e.message);
        let e = JsError::from(Error::InvalidSnapshot("bad magic".into()));
        assert_eq!((e.code, e.kind), ("INVALID_SNAPSHOT", Kind::Plain));
    }
}
