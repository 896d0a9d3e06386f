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

/// Where Linux says which free blocks it reports to the hypervisor.
const PAGE_REPORTING_ORDER: &str = "/sys/module/page_reporting/parameters/page_reporting_order";

/// Largest block order of the page allocator (`MAX_PAGE_ORDER` on x86-64):
/// a reporting order above it reports nothing.
const MAX_PAGE_ORDER: u32 = 10;

/// A warning when this machine is a virtual machine that hands free memory
/// back to its host (virtio-balloon free page reporting), `None` otherwise.
///
/// A page the host took back faults on the host at its next use: 11.5 µs a
/// 4 KiB page against 1.5 µs for the next touch (a C loop on the 2-core
/// development VM). The page cache soon runs on such pages, and a workload
/// that gets them runs several times slower than one that reuses pages
/// freed a moment before: on that VM, dislog's W1 ran at 3.0–6.8 M/s in
/// six runs with reporting on and at 10.1–11.3 M/s in six with it off and
/// the free memory touched once, where the baseline's W1 ran at 21–36 M/s
/// either way.
pub fn page_reporting_warning() -> Option<String> {
    let order = std::fs::read_to_string(PAGE_REPORTING_ORDER).ok()?;
    reporting_warning(&order)
}

/// [`page_reporting_warning`] for the contents of [`PAGE_REPORTING_ORDER`].
fn reporting_warning(order: &str) -> Option<String> {
    let order: u32 = order.trim().parse().ok()?;
    (order <= MAX_PAGE_ORDER).then(|| {
        format!(
            "warning: this VM reports free memory to its host (page_reporting_order {order}): \
             pages it gives back fault on the host when used again, which can slow the \
             workloads that write several-fold, one engine more than another. For figures to \
             compare, run with it off (as root: echo {} > {PAGE_REPORTING_ORDER}; put {order} \
             back afterwards), once the free memory has been touched with it off (pages the \
             host already took stay cold until then)",
            MAX_PAGE_ORDER + 1
        )
    })
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
    fn page_reporting_warns_only_while_some_order_is_reported() {
        let on = reporting_warning("9\n").expect("order 9 is reported");
        assert!(on.contains("page_reporting_order 9"), "{on}");
        assert!(on.contains("echo 11 >"), "{on}");
        assert!(reporting_warning("10").is_some());
        assert_eq!(reporting_warning("11\n"), None);
        assert_eq!(reporting_warning("not a number"), None);
    }

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
