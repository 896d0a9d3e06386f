//! The native default clock: `clock_gettime(CLOCK_REALTIME)` read directly
//! (through libc, whose vDSO call also runs under valgrind, unlike rustix's
//! raw backend).
//!
//! `dislog_core::default_clock` goes through `SystemTime::now()` and
//! `duration_since`, whose checked `timespec` arithmetic cost about as much
//! as the clock read itself; an append reads the clock once, so this was a
//! measurable share of every append (see the ffi README's profile notes).

use dislog_core::{default_clock, Clock, Config};

/// Milliseconds since the Unix epoch from `CLOCK_REALTIME` (the same clock
/// as `SystemTime::now()`, millisecond-exact); 0 before the epoch.
pub fn realtime_ms() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_REALTIME exists on
    // every Unix. On failure `now` stays zero, which reads as the epoch.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    let millis = u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000;
    secs.saturating_mul(1000).saturating_add(millis)
}

/// `config` with [`realtime_ms`] in place of core's default clock (a clock
/// the caller chose is kept).
pub(crate) fn native(mut config: Config) -> Config {
    if std::ptr::fn_addr_eq(config.clock, default_clock as Clock) {
        config.clock = realtime_ms;
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_system_clock() {
        let before = default_clock();
        let now = realtime_ms();
        let after = default_clock();
        assert!(before <= now && now <= after, "{before} {now} {after}");
    }

    fn fixed() -> u64 {
        42
    }

    #[test]
    fn only_the_default_clock_is_replaced() {
        let replaced = native(Config::default());
        assert!(std::ptr::fn_addr_eq(replaced.clock, realtime_ms as Clock));
        let kept = native(Config {
            clock: fixed,
            ..Config::default()
        });
        assert_eq!((kept.clock)(), 42);
    }
}
