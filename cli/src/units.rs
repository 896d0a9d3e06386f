//! Parsing and printing of the units people type and read: sizes, ages,
//! times, rates, delimiters and sync policies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dislog::SyncPolicy;
use indicatif::HumanBytes;

/// Parses a byte size: a whole number with an optional unit. `K`, `M`, `G`,
/// `T` and `KiB`, `MiB`, `GiB`, `TiB` are powers of 1024; `KB`, `MB`, `GB`,
/// `TB` are powers of 1000; `B` or nothing means bytes. Case-insensitive,
/// spaces allowed before the unit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (try 4096, 64MiB, 1G)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
            "unknown size unit '{other}' (use B, K, KiB, KB, M, MiB, MB, G, GiB, GB, T, TiB, TB)"
        ))
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("size '{text}' is too large"))
}

/// Parses a duration such as `200ms`, `30s`, `10m`, `12h`, `7d` or
/// `1h 30m` (units may be combined).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("'{text}' is not a duration ({e}; try 500ms, 30s, 10m, 12h, 7d)"))
}

/// Parses a point in time into milliseconds since the Unix epoch: a plain
/// number is already milliseconds since the epoch, an RFC 3339 date-time
/// (`2026-01-02T03:04:05Z`, `2026-01-02 03:04:05` meaning UTC) is taken as
/// is, and a duration (`10m`, `7d`) means that long before now.
pub fn parse_time(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("'{text}' is too large for milliseconds since the epoch"));
    }
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return time
            .duration_since(UNIX_EPOCH)
            .map(millis)
            .map_err(|_| format!("'{text}' is before 1970"));
    }
    match humantime::parse_duration(text) {
        Ok(ago) => Ok(now_ms().saturating_sub(millis(ago))),
        Err(_) => Err(format!(
            "'{text}' is not a time (use RFC 3339 like 2026-01-02T03:04:05Z, milliseconds since the epoch, or an age like 10m, 2h, 7d)"
        )),
    }
}

/// Milliseconds in a duration, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The wall clock in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}

/// Largest timestamp (end of year 9999) that prints as a date; larger ones
/// (a caller may store any u64) print as numbers.
const LAST_PRINTABLE_MS: u64 = 253_402_300_799_999;

/// A timestamp as RFC 3339 UTC with milliseconds, or the plain number when it
/// is past year 9999.
pub fn format_time(ms: u64) -> String {
    if ms > LAST_PRINTABLE_MS {
        return format!("{ms}ms");
    }
    let time = UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_millis(time).to_string()
}

/// A byte count with a binary unit: `1.50 MiB`.
pub fn format_bytes(bytes: u64) -> String {
    HumanBytes(bytes).to_string()
}

/// A count with thousands separators: `1,000,000`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count and a noun, the noun in the plural unless the count is one:
/// `1 record`, `1,000 records`.
pub fn count_of(n: u64, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", format_count(n))
}

/// A per-second rate of `amount` over `elapsed`, e.g. `2.41 M` for 2.41
/// million a second.
pub fn format_rate(amount: f64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = amount / secs;
    let (value, unit) = if rate >= 1e9 {
        (rate / 1e9, " G")
    } else if rate >= 1e6 {
        (rate / 1e6, " M")
    } else if rate >= 1e3 {
        (rate / 1e3, " k")
    } else {
        (rate, "")
    };
    format!("{value:.2}{unit}")
}

/// Bytes per second in binary units: `512.00 MiB/s`.
pub fn format_byte_rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    // Rounded to whole bytes: HumanBytes shows three significant digits.
    let per_sec = (bytes as f64 / secs).round();
    let per_sec = if per_sec >= u64::MAX as f64 {
        u64::MAX
    } else {
        per_sec as u64
    };
    format!("{}/s", HumanBytes(per_sec))
}

/// A duration for people: `1.23 s` or `45.6 ms`.
pub fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else {
        format!("{:.1} ms", secs * 1e3)
    }
}

/// Parses a record delimiter: one ASCII character, an escape (`\n`, `\t`,
/// `\r`, `\0`, `\\`) or a hex byte (`0x1e`).
pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    let byte = match text {
        "\\n" => Some(b'\n'),
        "\\t" => Some(b'\t'),
        "\\r" => Some(b'\r'),
        "\\0" => Some(0),
        "\\\\" => Some(b'\\'),
        _ => None,
    };
    if let Some(byte) = byte {
        return Ok(byte);
    }
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u8::from_str_radix(hex, 16)
            .map_err(|_| format!("'{text}' is not a hex byte (0x00 to 0xff)"));
    }
    match text.as_bytes() {
        [byte] => Ok(*byte),
        _ => Err(format!(
            "'{text}' is not one byte (use one ASCII character, \\n, \\t, \\r, \\0 or a hex byte like 0x1e)"
        )),
    }
}

/// Parses a sync policy: `never`, `always`, `bytes:N` (N a size) or `ms:N`
/// (N milliseconds or a duration).
pub fn parse_sync(text: &str) -> Result<SyncPolicy, String> {
    let policy = match text.split_once(':') {
        None if text == "never" => SyncPolicy::Manual,
        None if text == "always" => SyncPolicy::EveryAppend,
        Some(("bytes", n)) => SyncPolicy::EveryBytes(parse_size(n)?),
        Some(("ms", n)) => {
            let ms = match n.parse::<u64>() {
                Ok(ms) => ms,
                Err(_) => millis(parse_duration(n)?),
            };
            SyncPolicy::EveryMillis(ms)
        }
        _ => {
            return Err(format!(
                "'{text}' is not a sync policy (use never, always, bytes:N or ms:N)"
            ))
        }
    };
    match policy {
        SyncPolicy::EveryBytes(0) | SyncPolicy::EveryMillis(0) => {
            Err(format!("'{text}': use 'always' to sync after every batch"))
        }
        policy => Ok(policy),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("64 m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("2kb").unwrap(), 2000);
        assert_eq!(parse_size("3B").unwrap(), 3);
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("1.5G").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999999T").is_err());
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(
            parse_duration("12h").unwrap(),
            Duration::from_secs(12 * 3600)
        );
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.250Z").unwrap(),
            1_700_000_000_250
        );
        let ago = parse_time("10m").unwrap();
        let expected = now_ms() - 600_000;
        assert!(ago.abs_diff(expected) < 5_000, "{ago} vs {expected}");
        assert!(parse_time("yesterday-ish").is_err());
        assert!(parse_time("99999999999999999999999").is_err());
    }

    #[test]
    fn printing() {
        assert_eq!(format_time(1_700_000_000_250), "2023-11-14T22:13:20.250Z");
        assert_eq!(format_time(u64::MAX), format!("{}ms", u64::MAX));
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(count_of(1, "record"), "1 record");
        assert_eq!(count_of(1000, "segment"), "1,000 segments");
        assert_eq!(format_bytes(1536), "1.50 KiB");
        assert_eq!(format_rate(2_500_000.0, Duration::from_secs(1)), "2.50 M");
        assert_eq!(format_rate(10.0, Duration::from_secs(2)), "5.00");
        assert_eq!(
            format_byte_rate(3 << 20, Duration::from_secs(1)),
            "3.00 MiB/s"
        );
        assert_eq!(format_elapsed(Duration::from_millis(1500)), "1.50 s");
        assert_eq!(format_elapsed(Duration::from_micros(2500)), "2.5 ms");
    }

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter(",").unwrap(), b',');
        assert_eq!(parse_delimiter("\\n").unwrap(), b'\n');
        assert_eq!(parse_delimiter("\\0").unwrap(), 0);
        assert_eq!(parse_delimiter("0x1e").unwrap(), 0x1e);
        assert!(parse_delimiter("ab").is_err());
        assert!(parse_delimiter("0x100").is_err());
        assert!(parse_delimiter("").is_err());
    }

    #[test]
    fn sync_policies() {
        assert_eq!(parse_sync("never").unwrap(), SyncPolicy::Manual);
        assert_eq!(parse_sync("always").unwrap(), SyncPolicy::EveryAppend);
        assert_eq!(
            parse_sync("bytes:1MiB").unwrap(),
            SyncPolicy::EveryBytes(1 << 20)
        );
        assert_eq!(parse_sync("ms:250").unwrap(), SyncPolicy::EveryMillis(250));
        assert_eq!(parse_sync("ms:2s").unwrap(), SyncPolicy::EveryMillis(2000));
        assert!(parse_sync("bytes:0").is_err());
        assert!(parse_sync("sometimes").is_err());
        assert!(parse_sync("ms:").is_err());
    }
}
