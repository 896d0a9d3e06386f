//! Timing, medians and memory readings.

use std::time::{Duration, Instant};

use crate::BenchResult;

/// Runs `f` and returns its result and how long it took.
pub fn timed<T>(f: impl FnOnce() -> BenchResult<T>) -> BenchResult<(T, Duration)> {
    let start = Instant::now();
    let value = f()?;
    Ok((value, start.elapsed()))
}

/// The median of `samples` (the mean of the middle two for an even count);
/// zero for none.
pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// The median of `field` over `items` (one per run).
pub fn median_of<T>(items: &[T], field: impl Fn(&T) -> Duration) -> Duration {
    median(&items.iter().map(field).collect::<Vec<_>>())
}

/// A field of `/proc/self/status` in KiB (`VmHWM`, `RssAnon`, ...), where
/// the system has it.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(
            median(&[ms(4), ms(1), ms(2), ms(3)]),
            Duration::from_micros(2500)
        );
        assert_eq!(median(&[]), Duration::ZERO);
        let runs = [(ms(9), ms(1)), (ms(2), ms(7)), (ms(5), ms(4))];
        assert_eq!(median_of(&runs, |r| r.0), ms(5));
        assert_eq!(median_of(&runs, |r| r.1), ms(4));
    }

    #[test]
    fn reads_own_memory_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(proc_status_kib("VmRSS").is_some_and(|kib| kib > 0));
        }
        assert_eq!(proc_status_kib("NoSuchField"), None);
    }
}
