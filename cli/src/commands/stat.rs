//! `dislog stat`: what the log holds, segment by segment.

use std::io::Write;

use dislog::{Log, SegmentInfo};
use serde_json::json;

use super::{open_reader, stdout};
use crate::args::StatArgs;
use crate::error::{Context, Result};
use crate::units::{count_of, format_bytes, format_count, format_time};

/// One segment with the timestamp of its first record (the index keeps
/// only the running maximum, so the first record is read for it).
pub struct Segment {
    /// What the log says about it.
    pub info: SegmentInfo,
    /// Timestamp of its first record; `None` when empty or unreadable.
    pub first_timestamp: Option<u64>,
}

/// The segments of `log`, oldest first (a sealed segment that does not
/// open is an error: see `dislog verify`).
pub fn segments(log: &Log) -> Result<Vec<Segment>> {
    Ok(log
        .segments()
        .context(|| "reading the segments failed")?
        .into_iter()
        .map(|info| Segment {
            first_timestamp: (info.records > 0)
                .then(|| log.read_with(info.base, |r| r.timestamp).ok())
                .flatten(),
            info,
        })
        .collect())
}

/// `dislog stat`: prints the segment table and totals, or one JSON object.
pub fn run(args: &StatArgs) -> Result<()> {
    let log = open_reader(&args.dir)?;
    let segments = segments(&log)?;
    let mut out = stdout();
    if args.json {
        writeln!(out, "{}", to_json(&log, &segments))?;
    } else {
        write_summary(&mut out, &log, &segments)?;
        writeln!(out)?;
        write_table(&mut out, &segments)?;
        let repairs = log.repairs();
        if !repairs.is_empty() {
            writeln!(
                out,
                "\nthe log was not closed cleanly (or a writer has it open); opening it for writing would:"
            )?;
            for repair in repairs {
                writeln!(out, "  {repair}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn write_summary(out: &mut impl Write, log: &Log, segments: &[Segment]) -> std::io::Result<()> {
    let store: u64 = segments.iter().map(|s| s.info.store_bytes).sum();
    let index: u64 = segments.iter().map(|s| s.info.index_bytes).sum();
    writeln!(out, "log            {}", log.path().display())?;
    writeln!(out, "format         version {}", dislog::FORMAT_VERSION)?;
    let offsets = match (log.lowest_offset(), log.highest_offset()) {
        (Some(low), Some(high)) => format!("offsets {low} to {high}, next {}", log.next_offset()),
        _ => format!("empty, next offset {}", log.next_offset()),
    };
    writeln!(
        out,
        "records        {} ({offsets})",
        format_count(log.len())
    )?;
    writeln!(
        out,
        "size           {} in {} (stores {}, indexes {})",
        format_bytes(store + index),
        count_of(segments.len() as u64, "segment"),
        format_bytes(store),
        format_bytes(index)
    )?;
    let first = segments.iter().find_map(|s| s.first_timestamp);
    let last = segments.iter().filter_map(|s| s.info.max_timestamp).max();
    if let (Some(first), Some(last)) = (first, last) {
        writeln!(
            out,
            "time range     {} to {}",
            format_time(first),
            format_time(last)
        )?;
    }
    Ok(())
}

/// The segment table, also shown by `dislog demo`.
pub fn write_table(out: &mut impl Write, segments: &[Segment]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>20}  {:>12}  {:>11}  {:>11}  {:<24}  max timestamp",
        "segment (base)", "records", "store", "index", "first timestamp"
    )?;
    for s in segments {
        let time = |t: Option<u64>| t.map_or_else(|| "-".to_owned(), format_time);
        writeln!(
            out,
            "{:>20}  {:>12}  {:>11}  {:>11}  {:<24}  {}",
            s.info.base,
            format_count(s.info.records),
            format_bytes(s.info.store_bytes),
            format_bytes(s.info.index_bytes),
            time(s.first_timestamp),
            time(s.info.max_timestamp)
        )?;
    }
    Ok(())
}

fn to_json(log: &Log, segments: &[Segment]) -> serde_json::Value {
    let store: u64 = segments.iter().map(|s| s.info.store_bytes).sum();
    let index: u64 = segments.iter().map(|s| s.info.index_bytes).sum();
    json!({
        "path": log.path().display().to_string(),
        "format_version": dislog::FORMAT_VERSION,
        "records": log.len(),
        "lowest_offset": log.lowest_offset(),
        "highest_offset": log.highest_offset(),
        "next_offset": log.next_offset(),
        "size_bytes": store + index,
        "store_bytes": store,
        "index_bytes": index,
        "first_timestamp": segments.iter().find_map(|s| s.first_timestamp),
        "max_timestamp": segments.iter().filter_map(|s| s.info.max_timestamp).max(),
        "segments": segments.iter().map(|s| json!({
            "base": s.info.base,
            "records": s.info.records,
            "store_bytes": s.info.store_bytes,
            "index_bytes": s.info.index_bytes,
            "first_timestamp": s.first_timestamp,
            "max_timestamp": s.info.max_timestamp,
        })).collect::<Vec<_>>(),
        "pending_repairs": log.repairs().iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}
