//! The comparison table (Markdown) and the machine it was measured on.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::workloads::{Results, Workload};

fn label(workload: Workload) -> &'static str {
    match workload {
        Workload::W1Append => "W1 append 100 B, one call each",
        Workload::W1Sync => "W1 final sync",
        Workload::Batch64 => "W1 append_batch of 64",
        Workload::Batch1024 => "W1 append_batch of 1,024",
        Workload::W2Append => "W2 append 4 KiB",
        Workload::W3Scan => "W3 sequential read",
        Workload::W4RandomRead => "W4 random read",
        Workload::W5Reopen => "W5 reopen, clean close",
        Workload::W6ReopenUnclean => "W6 reopen, unclean close",
    }
}

/// A rate or a time, human-readable.
fn figure(results: &Results, workload: Workload, time: Duration) -> String {
    let secs = time.as_secs_f64().max(1e-12);
    match results.volume.get(&workload) {
        Some(&(records, bytes)) if workload.is_rate() => {
            let mb = bytes as f64 / secs / 1e6;
            if workload == Workload::W2Append {
                format!("{mb:.0} MB/s")
            } else {
                format!("{:.2} M/s ({mb:.0} MB/s)", records as f64 / secs / 1e6)
            }
        }
        _ => duration(time),
    }
}

fn duration(time: Duration) -> String {
    let ns = time.as_secs_f64() * 1e9;
    if ns < 10_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 10_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.0} ms", ns / 1e6)
    }
}

/// dislog's speed over `other`'s (above 1: dislog is faster).
fn ratio(dislog: Duration, other: Duration) -> String {
    let d = dislog.as_secs_f64();
    if d <= 0.0 {
        return "-".into();
    }
    format!("{:.2}×", other.as_secs_f64() / d)
}

/// The table: a row per workload, the engines' medians as columns, and
/// dislog's speed relative to each other engine.
pub fn table(results: &Results) -> String {
    let mut out = String::new();
    let mut header = String::from("| workload |");
    let mut rule = String::from("|---|");
    for (i, name) in results.engines.iter().enumerate() {
        let _ = write!(header, " {name} |");
        rule.push_str("---:|");
        if i > 0 {
            let _ = write!(header, " dislog ÷ {name} |");
            rule.push_str("---:|");
        }
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for workload in Workload::ALL {
        let mut row = format!("| {} |", label(workload));
        let first = results.median(workload, 0);
        for i in 0..results.engines.len() {
            let cell = results.median(workload, i);
            match cell {
                Some(t) => {
                    let _ = write!(row, " {} |", figure(results, workload, t));
                }
                None => row.push_str(" - |"),
            }
            if i > 0 {
                match (first, cell) {
                    (Some(d), Some(o)) => {
                        let _ = write!(row, " {} |", ratio(d, o));
                    }
                    _ => row.push_str(" - |"),
                }
            }
        }
        let _ = writeln!(out, "{row}");
    }
    if !results.notes.is_empty() {
        out.push('\n');
    }
    for note in &results.notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}

/// CPU model, cores, kernel and the file system of `dir`, as far as the
/// system tells.
pub fn machine(dir: &Path) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown kernel".into());
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    format!(
        "{cpu}, {cores} cores, Linux {kernel}, {} at {}",
        file_system(&dir).unwrap_or_else(|| "unknown file system".into()),
        dir.display()
    )
}

/// The type of the file system mounted at the longest prefix of `dir`.
fn file_system(dir: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            dir.starts_with(point)
                .then(|| (point.len(), kind.to_string()))
        })
        .max()
        .map(|(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_ratios_read_well() {
        assert_eq!(duration(Duration::from_nanos(85)), "85 ns");
        assert_eq!(duration(Duration::from_micros(350)), "0.35 ms");
        assert_eq!(duration(Duration::from_millis(120)), "120 ms");
        assert_eq!(
            ratio(Duration::from_secs(1), Duration::from_secs(2)),
            "2.00×"
        );
    }
}
