//! Conversions between JS values and the engine's types: offsets and
//! timestamps as safe-integer numbers, payloads as bytes, options as a
//! [`Config`].

use dislog_core::{Config, Error, Record};
use js_sys::{Array, JsString, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::{JsError, Result, INVALID_ARGUMENT, UNSAFE_INTEGER};

/// `Number.MAX_SAFE_INTEGER`: the largest offset or timestamp that crosses
/// the boundary.
pub const MAX_SAFE: u64 = (1 << 53) - 1;

/// A short description of a value's type for error messages.
pub fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    if Array::is_array(value) {
        return "an array".into();
    }
    value
        .js_typeof()
        .as_string()
        .unwrap_or_else(|| "unknown".into())
}

/// Checks that a number is an integer in `0..=MAX_SAFE`.
pub fn number_to_u64(n: f64, what: &str) -> Result<u64> {
    if !n.is_finite() || n.fract() != 0.0 {
        return Err(JsError::range(
            INVALID_ARGUMENT,
            format!("{what} must be an integer, got {n}"),
        ));
    }
    if n < 0.0 {
        return Err(JsError::range(
            INVALID_ARGUMENT,
            format!("{what} must not be negative, got {n}"),
        ));
    }
    if n > MAX_SAFE as f64 {
        return Err(JsError::range(
            UNSAFE_INTEGER,
            format!("{what} is {n}, past Number.MAX_SAFE_INTEGER (2^53 - 1)"),
        ));
    }
    // An integer in 0..=2^53-1: the conversion is exact.
    Ok(n as u64)
}

/// A JS value that must be a non-negative safe integer.
pub fn to_u64(value: &JsValue, what: &str) -> Result<u64> {
    match value.as_f64() {
        Some(n) => number_to_u64(n, what),
        None => Err(JsError::invalid_type(format!(
            "{what} must be a number, got {}",
            type_name(value)
        ))),
    }
}

/// `value` as an `Array`; `INVALID_TYPE` naming `what` otherwise.
pub fn as_array<'a>(value: &'a JsValue, what: &str) -> Result<&'a Array> {
    if !Array::is_array(value) {
        return Err(JsError::invalid_type(format!(
            "{what} must be an array, got {}",
            type_name(value)
        )));
    }
    Ok(value.unchecked_ref())
}

/// Like [`to_u64`], with `undefined` meaning `None`.
pub fn to_opt_u64(value: &JsValue, what: &str) -> Result<Option<u64>> {
    if value.is_undefined() {
        Ok(None)
    } else {
        to_u64(value, what).map(Some)
    }
}

/// An engine integer as a JS number, refused past [`MAX_SAFE`].
pub fn from_u64(v: u64, what: &str) -> Result<f64> {
    if v > MAX_SAFE {
        return Err(JsError::range(
            UNSAFE_INTEGER,
            format!("{what} {v} is past Number.MAX_SAFE_INTEGER (2^53 - 1)"),
        ));
    }
    Ok(v as f64)
}

#[wasm_bindgen]
extern "C" {
    /// The global `TextEncoder` (browsers, Node, Deno): strings are encoded
    /// in JS memory, so their bytes reach wasm memory through one fallible
    /// copy like a `Uint8Array`'s.
    type TextEncoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextEncoder;
    #[wasm_bindgen(method)]
    fn encode(this: &TextEncoder, text: &JsString) -> Uint8Array;

    /// The global `TextDecoder` (UTF-8, invalid sequences become U+FFFD):
    /// decodes in JS memory, without a wasm allocation.
    type TextDecoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextDecoder;
    #[wasm_bindgen(method)]
    fn decode(this: &TextDecoder, bytes: &Uint8Array) -> JsString;
}

/// `bytes` decoded as UTF-8 into a JS string (invalid sequences become
/// U+FFFD), copied straight from wasm memory to JS memory.
pub fn utf8_to_js(bytes: &[u8]) -> JsString {
    TextDecoder::new().decode(&Uint8Array::from(bytes))
}

/// Reserves room for `additional` more elements in `buf` (exactly that
/// much in an empty `buf`, amortised growth otherwise), or fails with
/// `OUT_OF_MEMORY` (never the allocator's abort, which would trap).
pub fn reserve<T>(buf: &mut Vec<T>, additional: usize, what: &str) -> Result<()> {
    buf.try_reserve(additional).map_err(|_| {
        let bytes = (additional as u64).saturating_mul(core::mem::size_of::<T>() as u64);
        JsError::out_of_memory(bytes, what)
    })
}

/// Like [`reserve`] for a byte count computed in `u64` (past `usize` on
/// wasm32 is out of memory too).
pub fn reserve_u64(buf: &mut Vec<u8>, additional: u64, what: &str) -> Result<()> {
    let additional =
        usize::try_from(additional).map_err(|_| JsError::out_of_memory(additional, what))?;
    reserve(buf, additional, what)
}

/// A copier of many `Uint8Array`s into wasm memory through one view of
/// all of it: each copy is one call into JS (`set`), where
/// [`Uint8Array::copy_to`] makes a new view for every copy (an object for
/// the garbage collector, and two more calls). The view is made again
/// whenever wasm memory may have grown (a grown memory detaches it).
pub struct MemoryCopier {
    view: Uint8Array,
}

impl MemoryCopier {
    /// A view of wasm memory as it is now.
    pub fn new() -> Self {
        Self {
            view: memory_view(),
        }
    }

    /// Appends the bytes of `value` to `buf`, as [`push_bytes`] does.
    pub fn push(
        &mut self,
        buf: &mut Vec<u8>,
        value: &JsValue,
        limit: u64,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        push_bytes_with(buf, value, limit, what, |buf, array, what| {
            let len = array.length() as usize;
            if buf.capacity() - buf.len() < len {
                reserve(buf, len, what)?;
                self.view = memory_view();
            }
            let start = buf.len();
            buf.resize(start + len, 0);
            // The view covers all of wasm memory, where `buf` lives: JS
            // writes the bytes over the zeros just pushed, while nothing
            // borrows them.
            self.view.set(array, buf.as_ptr() as u32 + start as u32);
            Ok(())
        })
    }
}

/// A `Uint8Array` over all of wasm memory.
fn memory_view() -> Uint8Array {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    Uint8Array::new(&memory.buffer())
}

/// Copies the bytes of `array` to the end of `buf` (reserving fallibly).
fn push_array(buf: &mut Vec<u8>, array: &Uint8Array, what: &str) -> Result<()> {
    let len = array.length() as usize;
    reserve(buf, len, what)?;
    let start = buf.len();
    buf.resize(start + len, 0);
    if let Some(dst) = buf.get_mut(start..) {
        array.copy_to(dst);
    }
    Ok(())
}

/// An upper bound on the bytes [`push_bytes`] copies for `value` (a
/// `Uint8Array`'s length, a string's UTF-16 length: at least its UTF-8
/// length, and exactly it for ASCII); 0 for anything else.
pub fn byte_len_hint(value: &JsValue) -> u64 {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        u64::from(array.length())
    } else if let Some(text) = value.dyn_ref::<JsString>() {
        u64::from(text.length())
    } else {
        0
    }
}

/// Appends the bytes of a `Uint8Array` or the UTF-8 of a string to `buf`.
/// A value that cannot fit in `limit` bytes is refused with
/// `RECORD_TOO_LARGE` before anything is copied into wasm memory, so a huge
/// input cannot exhaust it; memory that cannot be had is `OUT_OF_MEMORY`.
/// `what` names the value in the error message (only built on error).
pub fn push_bytes(
    buf: &mut Vec<u8>,
    value: &JsValue,
    limit: u64,
    what: impl FnOnce() -> String,
) -> Result<()> {
    push_bytes_with(buf, value, limit, what, push_array)
}

/// [`push_bytes`], copying the checked `Uint8Array` with `copy`.
fn push_bytes_with(
    buf: &mut Vec<u8>,
    value: &JsValue,
    limit: u64,
    what: impl FnOnce() -> String,
    copy: impl FnOnce(&mut Vec<u8>, &Uint8Array, &str) -> Result<()>,
) -> Result<()> {
    let too_large = |len: u64| JsError::from(Error::RecordTooLarge { len, max: limit });
    let encoded;
    let array = if let Some(array) = value.dyn_ref::<Uint8Array>() {
        array
    } else if let Some(text) = value.dyn_ref::<JsString>() {
        // Each UTF-16 unit is at least one UTF-8 byte: refuse before encoding.
        let units = u64::from(text.length());
        if units > limit {
            return Err(too_large(units));
        }
        encoded = TextEncoder::new().encode(text);
        &encoded
    } else {
        return Err(JsError::invalid_type(format!(
            "{} must be a Uint8Array or a string, got {}",
            what(),
            type_name(value)
        )));
    };
    let len = u64::from(array.length());
    if len > limit {
        return Err(too_large(len));
    }
    copy(buf, array, "the record")
}

/// The bytes of a `Uint8Array` or the UTF-8 of a string (see [`push_bytes`]).
pub fn to_bytes(value: &JsValue, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    push_bytes(&mut buf, value, limit, || what.into())?;
    Ok(buf)
}

/// The bytes of a `Uint8Array` (strings refused: for snapshots), copied
/// into wasm memory fallibly (`OUT_OF_MEMORY`).
pub fn to_byte_array(value: &JsValue, what: &str) -> Result<Vec<u8>> {
    match value.dyn_ref::<Uint8Array>() {
        Some(array) => {
            let mut buf = Vec::new();
            push_array(&mut buf, array, "the copy of the bytes")?;
            Ok(buf)
        }
        None => Err(JsError::invalid_type(format!(
            "{what} must be a Uint8Array, got {}",
            type_name(value)
        ))),
    }
}

/// The clock of every log: `Date.now()` in milliseconds.
pub fn now() -> u64 {
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms >= 0.0 {
        ms as u64
    } else {
        0
    }
}

/// The options a log accepts, with the config field each sets.
const OPTIONS: [&str; 4] = [
    "maxStoreBytes",
    "maxIndexBytes",
    "initialOffset",
    "maxRecordBytes",
];

/// Builds a config from an options object (`undefined` or `null` for the
/// defaults). Unknown option names are refused, so a typo is not ignored.
pub fn to_config(options: &JsValue) -> Result<Config> {
    let mut config = Config {
        clock: now,
        ..Config::default()
    };
    if options.is_undefined() || options.is_null() {
        return Ok(config);
    }
    if !options.is_object() || Array::is_array(options) || options.is_function() {
        return Err(JsError::invalid_type(format!(
            "options must be an object, got {}",
            type_name(options)
        )));
    }
    let object: &Object = options.unchecked_ref();
    for key in Object::keys(object).iter() {
        let name = key.as_string().unwrap_or_default();
        if !OPTIONS.contains(&name.as_str()) {
            return Err(JsError::config(format!(
                "unknown option {name:?}; the options are {}",
                OPTIONS.join(", ")
            )));
        }
        let value = Reflect::get(options, &key)
            .map_err(|_| JsError::config(format!("option {name:?} could not be read")))?;
        let Some(v) = to_opt_u64(&value, &format!("options.{name}"))? else {
            continue;
        };
        match name.as_str() {
            "maxStoreBytes" => config.max_store_bytes = v,
            "maxIndexBytes" => config.max_index_bytes = v,
            "initialOffset" => config.initial_offset = v,
            _ => config.max_record_bytes = v,
        }
    }
    Ok(config)
}

/// Sets `key` on a fresh object (cannot fail for a plain object).
pub fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// A record as a plain `{ offset, timestamp, data }` object.
pub fn record_object(record: &Record<'_>) -> Result<JsValue> {
    let object = Object::new();
    set(
        &object,
        "offset",
        &from_u64(record.offset, "offset")?.into(),
    );
    set(
        &object,
        "timestamp",
        &from_u64(record.timestamp, "timestamp")?.into(),
    );
    set(
        &object,
        "data",
        &Uint8Array::from(record.payload.as_ref()).into(),
    );
    Ok(object.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_must_be_safe_non_negative_integers() {
        assert_eq!(number_to_u64(0.0, "x"), Ok(0));
        assert_eq!(number_to_u64(-0.0, "x"), Ok(0));
        assert_eq!(number_to_u64(MAX_SAFE as f64, "x"), Ok(MAX_SAFE));
        for (bad, code) in [
            (-1.0, INVALID_ARGUMENT),
            (1.5, INVALID_ARGUMENT),
            (f64::NAN, INVALID_ARGUMENT),
            (f64::INFINITY, INVALID_ARGUMENT),
            (f64::NEG_INFINITY, INVALID_ARGUMENT),
            (9007199254740992.0, UNSAFE_INTEGER),
        ] {
            let e = number_to_u64(bad, "offset").unwrap_err();
            assert_eq!(e.code, code, "{bad}");
            assert!(e.message.starts_with("offset "), "{}", e.message);
        }
        assert_eq!(from_u64(MAX_SAFE, "x"), Ok(MAX_SAFE as f64));
        assert_eq!(
            from_u64(MAX_SAFE + 1, "x").unwrap_err().code,
            UNSAFE_INTEGER
        );
    }
}
