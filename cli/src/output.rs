//! How records are printed: text, hex or JSON Lines.

use std::io::{self, Write};

use base64::Engine as _;
use dislog::Record;

use crate::args::FormatArgs;
use crate::units::format_time;

/// The shape of each printed record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// The payload's bytes as they are, then a newline.
    Text,
    /// The payload as lowercase hex, then a newline.
    Hex,
    /// One JSON object per line.
    Json,
}

/// Prints records in the chosen style.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    style: Style,
    meta: bool,
}

impl Printer {
    /// The printer the format flags ask for.
    pub fn new(args: &FormatArgs) -> Self {
        let style = if args.json {
            Style::Json
        } else if args.hex {
            Style::Hex
        } else {
            Style::Text
        };
        Self {
            style,
            meta: args.meta,
        }
    }

    /// Writes one record.
    pub fn write(&self, out: &mut impl Write, record: &Record<'_>) -> io::Result<()> {
        if self.meta && self.style != Style::Json {
            write!(
                out,
                "{}\t{}\t",
                record.offset,
                format_time(record.timestamp)
            )?;
        }
        match self.style {
            Style::Text => out.write_all(&record.payload)?,
            Style::Hex => write_hex(out, &record.payload)?,
            Style::Json => out.write_all(json_line(record).as_bytes())?,
        }
        out.write_all(b"\n")
    }
}

fn write_hex(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut line = Vec::with_capacity(bytes.len() * 2);
    for byte in bytes {
        line.push(DIGITS[usize::from(byte >> 4)]);
        line.push(DIGITS[usize::from(byte & 0xf)]);
    }
    out.write_all(&line)
}

/// The JSON object of one record: `payload` holds the text when the payload
/// is valid UTF-8, otherwise `payload_base64` holds it in standard base64.
pub fn json_line(record: &Record<'_>) -> String {
    let mut object = serde_json::Map::new();
    object.insert("offset".into(), record.offset.into());
    object.insert("timestamp".into(), record.timestamp.into());
    object.insert("time".into(), format_time(record.timestamp).into());
    match std::str::from_utf8(&record.payload) {
        Ok(text) => object.insert("payload".into(), text.into()),
        Err(_) => object.insert(
            "payload_base64".into(),
            base64::engine::general_purpose::STANDARD
                .encode(&record.payload)
                .into(),
        ),
    };
    serde_json::Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::borrow::Cow;

    use super::*;

    fn record(payload: &[u8]) -> Record<'_> {
        Record {
            offset: 7,
            timestamp: 1_700_000_000_250,
            payload: Cow::Borrowed(payload),
        }
    }

    fn print(style: Style, meta: bool, payload: &[u8]) -> String {
        let mut out = Vec::new();
        Printer { style, meta }
            .write(&mut out, &record(payload))
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn styles() {
        assert_eq!(print(Style::Text, false, b"hi"), "hi\n");
        assert_eq!(
            print(Style::Text, true, b"hi"),
            "7\t2023-11-14T22:13:20.250Z\thi\n"
        );
        assert_eq!(print(Style::Hex, false, &[0, 0xab, 0x10]), "00ab10\n");
        let text: serde_json::Value =
            serde_json::from_str(&print(Style::Json, false, b"h\"i")).unwrap();
        assert_eq!(text["offset"], 7);
        assert_eq!(text["timestamp"], 1_700_000_000_250u64);
        assert_eq!(text["payload"], "h\"i");
        let binary: serde_json::Value =
            serde_json::from_str(&print(Style::Json, true, &[0xff, 0])).unwrap();
        assert_eq!(binary["payload_base64"], "/wA=");
        assert!(binary.get("payload").is_none());
    }
}
