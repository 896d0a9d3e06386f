//! The native default clock: `clock_gettime(CLOCK_REALTIME)` read directly
//! (through libc, whose vDSO call also runs under valgrind, unlike rustix's
//! raw backend); on x86_64, a millisecond read earlier is reused while the
//! TSC proves that it is still the current one.
//!
//! `dislog_core::default_clock` goes through `SystemTime::now()` and
//! `duration_since`, whose checked `timespec` arithmetic cost about as much
//! as the clock read itself; an append reads the clock once, so this was a
//! measurable share of every append (see the ffi README's profile notes).
//!
//! # The TSC cache (x86_64)
//!
//! A real read of the clock, `ns` nanoseconds since the epoch, taken between
//! the TSC readings `before` and `after`, proves that real time is inside
//! the millisecond of `ns` at every later TSC reading `now` with
//! `after ≤ now` and `now - before < (1_000_000 - ns % 1_000_000) · r`,
//! where `r` is a lower bound of the TSC's ticks per nanosecond of
//! `CLOCK_REALTIME`. Inside that span the cached millisecond *is* what
//! `clock_gettime` would return, so the promises of a direct read hold: a
//! caller who read the time `t` and then appends gets a timestamp ≥ `t`, and
//! no timestamp is later than the real time at the end of the append. The
//! TSC is read with `rdtscp`, which waits for every earlier instruction (as
//! the vDSO's own read does): a plain `rdtsc` may run ahead of an earlier
//! clock read and see the millisecond before it. The span is also capped at
//! [`MAX_SPAN_NS`].
//!
//! `r` comes from pairs of real reads at least [`CALIBRATION_NS`] apart: the
//! ticks from the first pair's `after` to the second's `before` are fewer
//! than the ticks between the two clock reads, so each estimate is a lower
//! bound of the rate over its interval. Two consecutive estimates must agree
//! within 1/64, and `r` is the lower of them minus a quarter: far beyond
//! NTP's largest slew (500 ppm), and enough for the whole `adjtimex` tick
//! range (±10 %) swung end to end between two estimates. Every refill at
//! least [`CALIBRATION_NS`] after the last estimate makes a new one; an
//! estimate that disagrees, or a real clock or a TSC that went back against
//! the other, switches the cache off until two estimates agree again
//! (samples taken before or during the last one, as by concurrent refills,
//! are ignored).
//!
//! The real clock is read instead whenever: the CPU lacks an invariant TSC
//! (CPUID 0x8000_0007 EDX bit 8) or `rdtscp` (0x8000_0001 EDX bit 27), so
//! the TSC is never read; no rate has been accepted yet; the TSC reads below
//! `after` (another core, a wrap: the unsigned difference is huge); the span
//! is over; or a refill is being written. The cache is a seqlock shared by
//! all threads (a sequence word and three data words, all atomics): a read
//! only loads, and a refill takes the sequence word with one compare-exchange
//! or, when another thread holds it, skips the refill. A failing
//! `clock_gettime` still gives 0, a time before the epoch still gives the
//! sub-second milliseconds; neither is cached.
//!
//! A wall-clock step (`clock_settime`, an NTP step, a leap second inserted
//! by the kernel) or any other jump of `CLOCK_REALTIME` against the TSC
//! (a VM or a machine paused with its TSC stopped) is seen at the next
//! refill: for at most [`MAX_SPAN_NS`] (0.1 ms) after the step, appends are
//! stamped with the millisecond from before it, where a direct read gives
//! the new time. After a forward step, a record appended after a read of the
//! new time can then be stamped earlier than that read; after a backward
//! step, later than a read at the end of its append. That is accepted: with
//! direct reads the same promises already fail, by the step's whole size,
//! for a read and an append on the two sides of a backward step, and steps
//! are rare, explicit events (NTP slews rather than steps once synced); the
//! cache widens that window by at most 0.1 ms and changes nothing at any
//! other time.

use dislog_core::{default_clock, Clock, Config};

/// Milliseconds since the Unix epoch from `CLOCK_REALTIME` (the same clock
/// as `SystemTime::now()`, millisecond-exact); 0 before the epoch.
///
/// On x86_64 with an invariant TSC, a millisecond read earlier is returned
/// while the TSC proves that it is still the current one, the same value a
/// direct read would give; only for up to 0.1 ms after a step of the wall
/// clock can it be the millisecond from before the step.
pub fn realtime_ms() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        match tsc::CACHE.cached() {
            Some(ms) => ms,
            None => tsc::CACHE.refresh(tsc::supported()),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        read_realtime().ms
    }
}

/// One `clock_gettime(CLOCK_REALTIME)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reading {
    /// Milliseconds since the epoch, as [`realtime_ms`] has always computed
    /// them (0 when the read failed; the sub-second part before the epoch).
    ms: u64,
    /// Nanoseconds since the epoch when the read succeeded at or after the
    /// epoch (only such a reading is cached).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    ns: Option<u64>,
}

impl Reading {
    /// The reading of a `clock_gettime` that returned `rc` and left
    /// `(secs, nsec)` in its timespec.
    fn new(rc: libc::c_int, secs: i64, nsec: i64) -> Reading {
        let whole = u64::try_from(secs).unwrap_or(0);
        let sub = u64::try_from(nsec).unwrap_or(0);
        let ms = whole.saturating_mul(1000).saturating_add(sub / 1_000_000);
        let ns = if rc == 0 && secs >= 0 && sub < 1_000_000_000 {
            whole
                .checked_mul(1_000_000_000)
                .and_then(|n| n.checked_add(sub))
        } else {
            None
        };
        Reading { ms, ns }
    }
}

fn read_realtime() -> Reading {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_REALTIME exists on
    // every Unix. On failure `now` stays zero, which reads as the epoch.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    #[allow(clippy::useless_conversion)] // time_t and c_long are i32 on some targets
    let reading = Reading::new(rc, i64::from(now.tv_sec), i64::from(now.tv_nsec));
    reading
}

/// `config` with [`realtime_ms`] in place of core's default clock (a clock
/// the caller chose is kept).
pub(crate) fn native(mut config: Config) -> Config {
    if std::ptr::fn_addr_eq(config.clock, default_clock as Clock) {
        config.clock = realtime_ms;
    }
    config
}

/// Least real time between the two clock reads of a rate estimate.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const CALIBRATION_NS: u64 = 2_000_000;

/// Longest real time a cached millisecond is reused after its clock read
/// (how long a wall-clock step can go unseen).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const MAX_SPAN_NS: u64 = 100_000;

#[cfg(target_arch = "x86_64")]
mod tsc {
    use std::sync::atomic::{fence, AtomicU64, AtomicU8, Ordering};

    use super::{read_realtime, CALIBRATION_NS, MAX_SPAN_NS};

    /// The process-wide cache behind [`super::realtime_ms`].
    pub(super) static CACHE: Cache = Cache::new();

    /// Whether this CPU has an invariant TSC and `rdtscp` (CPUID, asked once).
    pub(super) fn supported() -> bool {
        // 0: not asked yet, 1: yes, 2: no.
        static SUPPORTED: AtomicU8 = AtomicU8::new(0);
        match SUPPORTED.load(Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => {
                let yes = cpu_supported();
                SUPPORTED.store(if yes { 1 } else { 2 }, Ordering::Relaxed);
                yes
            }
        }
    }

    fn cpu_supported() -> bool {
        use std::arch::x86_64::__cpuid;
        // Hypervisors and valgrind may report a CPU without these bits.
        __cpuid(0x8000_0000).eax >= 0x8000_0007
            && __cpuid(0x8000_0001).edx & (1 << 27) != 0
            && __cpuid(0x8000_0007).edx & (1 << 8) != 0
    }

    /// The TSC, read once every earlier instruction has executed.
    ///
    /// # Safety
    ///
    /// The CPU has `rdtscp` ([`supported`]).
    #[inline(always)]
    unsafe fn rdtscp() -> u64 {
        let mut aux = 0u32;
        // SAFETY: the caller checked that the instruction exists; it only
        // writes the TSC_AUX value into `aux`.
        unsafe { std::arch::x86_64::__rdtscp(&mut aux) }
    }

    /// One real clock read between two TSC reads.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct Sample {
        /// The TSC before the clock read.
        pub(super) before: u64,
        /// The clock's nanoseconds since the epoch.
        pub(super) ns: u64,
        /// The TSC after the clock read.
        pub(super) after: u64,
    }

    /// A sample whose TSC reads are further apart than this (about 7 µs at
    /// 2.4 GHz; the read takes ~150 ticks) was preempted or moved between
    /// them: its estimate would be needlessly low, so it calibrates nothing.
    pub(super) const MAX_BRACKET_TICKS: u64 = 1 << 14;

    /// Estimates above this many ticks per ns (32 fraction bits) are
    /// nonsense.
    const MAX_RATE: u64 = 64 << 32;

    /// What the samples so far say about the TSC's rate. Only the holder of
    /// the cache's sequence word reads or changes it.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(super) struct Calibration {
        /// The TSC after the sample the next estimate starts from.
        pub(super) anchor_tsc: u64,
        /// The nanoseconds of that sample (0: no anchor yet).
        pub(super) anchor_ns: u64,
        /// The last estimate of ticks per ns (32 fraction bits; 0: none).
        pub(super) estimate: u64,
        /// The accepted lower bound of ticks per ns (32 fraction bits; 0:
        /// none, nothing is cached).
        pub(super) rate: u64,
    }

    impl Calibration {
        /// Takes `s` into account.
        pub(super) fn update(&mut self, s: Sample) {
            if s.after.wrapping_sub(s.before) > MAX_BRACKET_TICKS {
                return;
            }
            if self.anchor_ns == 0 {
                self.restart(s);
                return;
            }
            if s.before < self.anchor_tsc {
                if s.ns >= self.anchor_ns.saturating_add(CALIBRATION_NS) {
                    // The TSC went back (reset) while real time went on.
                    self.restart(s);
                }
                // Otherwise read before or while the anchor was (another
                // thread's refill, or one that waited for the sequence
                // word): nothing new.
                return;
            }
            if s.ns < self.anchor_ns {
                // Read after the anchor by the TSC: the real clock went back.
                self.restart(s);
                return;
            }
            let ns = s.ns - self.anchor_ns;
            if ns < CALIBRATION_NS {
                return;
            }
            let ticks = u128::from(s.before - self.anchor_tsc);
            let estimate = u64::try_from((ticks << 32) / u128::from(ns)).unwrap_or(u64::MAX);
            if estimate == 0 || estimate > MAX_RATE {
                self.restart(s);
                return;
            }
            let last = self.estimate;
            self.rate = if last != 0 && estimate.abs_diff(last) <= last / 64 {
                let low = estimate.min(last);
                low - low / 4
            } else {
                0
            };
            self.estimate = estimate;
            self.anchor_tsc = s.after;
            self.anchor_ns = s.ns;
        }

        /// Starts over from `s`: no rate until two new estimates agree.
        fn restart(&mut self, s: Sample) {
            *self = Calibration {
                anchor_tsc: s.after,
                anchor_ns: s.ns,
                estimate: 0,
                rate: 0,
            };
        }

        /// Ticks from `s.after` during which real time is inside the
        /// millisecond of `s.ns` (0 without a rate): from `s.after` on it is
        /// at least `s.ns`, and it stays below the next millisecond until
        /// `left · rate` ticks after `s.before`. At most [`MAX_SPAN_NS`].
        pub(super) fn span(&self, s: Sample) -> u64 {
            let left = (1_000_000 - s.ns % 1_000_000).min(MAX_SPAN_NS);
            // At most 2^20 · 2^38 (MAX_RATE): no overflow.
            let from_before = (left * self.rate) >> 32;
            from_before.saturating_sub(s.after.wrapping_sub(s.before))
        }
    }

    /// The cached millisecond, valid while `now - base < span` (TSC ticks,
    /// `base` is the `after` of its sample). A seqlock: `seq` is odd while a
    /// refill writes the other words. The words a read loads share a cache
    /// line.
    #[repr(C, align(64))]
    pub(super) struct Cache {
        seq: AtomicU64,
        ms: AtomicU64,
        base: AtomicU64,
        /// 0: nothing cached (and the TSC is not read).
        span: AtomicU64,
        // The calibration, owned by the holder of an odd `seq`.
        anchor_tsc: AtomicU64,
        anchor_ns: AtomicU64,
        estimate: AtomicU64,
        rate: AtomicU64,
    }

    impl Cache {
        pub(super) const fn new() -> Cache {
            Cache {
                seq: AtomicU64::new(0),
                ms: AtomicU64::new(0),
                base: AtomicU64::new(0),
                span: AtomicU64::new(0),
                anchor_tsc: AtomicU64::new(0),
                anchor_ns: AtomicU64::new(0),
                estimate: AtomicU64::new(0),
                rate: AtomicU64::new(0),
            }
        }

        /// The cached millisecond, if the TSC proves it is the current one.
        #[inline]
        pub(super) fn cached(&self) -> Option<u64> {
            let seq = self.seq.load(Ordering::Acquire);
            let ms = self.ms.load(Ordering::Relaxed);
            let base = self.base.load(Ordering::Relaxed);
            let span = self.span.load(Ordering::Relaxed);
            // Keeps the data loads before the second `seq` load (pairs with
            // the release fence in `store`).
            fence(Ordering::Acquire);
            if span == 0 || seq & 1 != 0 || self.seq.load(Ordering::Relaxed) != seq {
                return None;
            }
            // SAFETY: `span` is only non-zero after a `store`, and `refresh`
            // only stores when `supported()` found `rdtscp`.
            let now = unsafe { rdtscp() };
            // A TSC below `base` wraps to a huge difference: a real read.
            (now.wrapping_sub(base) < span).then_some(ms)
        }

        /// Reads the real clock and, when `supported`, calibrates and
        /// refills the cache with the reading (unless another thread is
        /// refilling it).
        #[cold]
        #[inline(never)]
        pub(super) fn refresh(&self, supported: bool) -> u64 {
            if !supported {
                return read_realtime().ms;
            }
            // SAFETY: `supported` says the CPU has `rdtscp`.
            let before = unsafe { rdtscp() };
            let reading = read_realtime();
            // SAFETY: as above.
            let after = unsafe { rdtscp() };
            if let Some(ns) = reading.ns {
                self.store(Sample { before, ns, after }, reading.ms);
            }
            reading.ms
        }

        /// Calibrates with `s` and caches `ms`, its millisecond, unless
        /// another thread holds the sequence word.
        pub(super) fn store(&self, s: Sample, ms: u64) {
            let seq = self.seq.load(Ordering::Relaxed);
            if seq & 1 != 0
                || self
                    .seq
                    .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_err()
            {
                return;
            }
            // The odd `seq` is visible before any of the stores below.
            fence(Ordering::Release);
            let mut calibration = self.calibration();
            calibration.update(s);
            self.anchor_tsc
                .store(calibration.anchor_tsc, Ordering::Relaxed);
            self.anchor_ns
                .store(calibration.anchor_ns, Ordering::Relaxed);
            self.estimate.store(calibration.estimate, Ordering::Relaxed);
            self.rate.store(calibration.rate, Ordering::Relaxed);
            self.ms.store(ms, Ordering::Relaxed);
            self.base.store(s.after, Ordering::Relaxed);
            self.span.store(calibration.span(s), Ordering::Relaxed);
            self.seq.store(seq + 2, Ordering::Release);
        }

        /// The calibration as stored (meaningful to the holder of an odd
        /// `seq`, or once no thread uses the cache).
        pub(super) fn calibration(&self) -> Calibration {
            Calibration {
                anchor_tsc: self.anchor_tsc.load(Ordering::Relaxed),
                anchor_ns: self.anchor_ns.load(Ordering::Relaxed),
                estimate: self.estimate.load(Ordering::Relaxed),
                rate: self.rate.load(Ordering::Relaxed),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::clock::read_realtime;

        /// A 2.5 GHz TSC: 2.5 ticks per ns.
        fn at(ns: u64) -> Sample {
            Sample {
                before: ns * 5 / 2 + 1000,
                ns,
                after: ns * 5 / 2 + 1100,
            }
        }

        const EPOCH_NS: u64 = 1_700_000_000_000_000_000;

        /// A calibration that accepted a rate from three samples.
        fn calibrated() -> Calibration {
            let mut c = Calibration::default();
            for k in 0..3 {
                c.update(at(EPOCH_NS + k * CALIBRATION_NS));
            }
            c
        }

        #[test]
        fn two_agreeing_estimates_give_three_quarters_of_the_lower_one() {
            let mut c = Calibration::default();
            c.update(at(EPOCH_NS));
            assert_eq!((c.anchor_ns, c.estimate, c.rate), (EPOCH_NS, 0, 0));
            // Too soon for an estimate: nothing changes.
            c.update(at(EPOCH_NS + CALIBRATION_NS - 1));
            assert_eq!((c.anchor_ns, c.estimate, c.rate), (EPOCH_NS, 0, 0));
            c.update(at(EPOCH_NS + CALIBRATION_NS));
            assert_eq!(c.rate, 0, "one estimate is not enough");
            let first = c.estimate;
            // 2.5 ticks/ns, less the 100-tick bracket over 2 ms.
            let expected = (2.5 - 100.0 / CALIBRATION_NS as f64) * 2f64.powi(32);
            assert!((first as f64 - expected).abs() < 2.0, "{first} {expected}");
            c.update(at(EPOCH_NS + 2 * CALIBRATION_NS));
            let low = c.estimate.min(first);
            assert_eq!(c.rate, low - low / 4);
            assert!(c.rate < (2u64 << 32), "{}", c.rate);
        }

        #[test]
        fn a_disagreeing_estimate_turns_the_cache_off_until_two_agree() {
            let mut c = calibrated();
            assert_ne!(c.rate, 0);
            // 5 % more ticks than before in the next interval.
            let mut s = at(EPOCH_NS + 3 * CALIBRATION_NS);
            s.before += CALIBRATION_NS / 8;
            s.after += CALIBRATION_NS / 8;
            c.update(s);
            assert_eq!(c.rate, 0);
            // The next interval is normal again, but disagrees with the last.
            for k in [4, 5] {
                let mut s = at(EPOCH_NS + k * CALIBRATION_NS);
                s.before += CALIBRATION_NS / 8;
                s.after += CALIBRATION_NS / 8;
                c.update(s);
                assert_eq!(c.rate == 0, k == 4, "{k}");
            }
        }

        #[test]
        fn a_clock_or_tsc_going_back_restarts() {
            let c = calibrated();
            // The real clock stepped back 1 s, the TSC went on.
            let mut back = c;
            let mut s = at(EPOCH_NS + 3 * CALIBRATION_NS);
            s.ns -= 1_000_000_000;
            back.update(s);
            assert_eq!((back.estimate, back.rate, back.anchor_ns), (0, 0, s.ns));
            // The TSC went back (reset, another core), the clock went on.
            let mut back = c;
            let mut s = at(EPOCH_NS + 3 * CALIBRATION_NS);
            s.before = 10;
            s.after = 110;
            back.update(s);
            assert_eq!((back.estimate, back.rate, back.anchor_tsc), (0, 0, 110));
            // A step forward gives a low estimate: off as well.
            let mut ahead = c;
            let mut s = at(EPOCH_NS + 3 * CALIBRATION_NS);
            s.ns += 1_000_000_000;
            ahead.update(s);
            assert_eq!(ahead.rate, 0);
        }

        #[test]
        fn stale_and_preempted_samples_are_ignored() {
            let c = calibrated();
            let mut same = c;
            same.update(at(EPOCH_NS + CALIBRATION_NS / 2));
            assert_eq!(same, c, "a sample older than the anchor");
            // Read on another core while the anchor was: its TSC reads
            // overlap the anchor's, its clock read came a little later.
            let anchor = at(EPOCH_NS + 2 * CALIBRATION_NS);
            let overlapping = Sample {
                before: anchor.before + 50,
                ns: anchor.ns + 30,
                after: anchor.after + 50,
            };
            same.update(overlapping);
            assert_eq!(same, c, "a sample overlapping the anchor");
            let mut s = at(EPOCH_NS + 3 * CALIBRATION_NS);
            s.after = s.before + MAX_BRACKET_TICKS + 1;
            same.update(s);
            assert_eq!(same, c, "a wide bracket");
            s.after = s.before - 1;
            same.update(s);
            assert_eq!(same, c, "after below before");
        }

        #[test]
        fn the_span_ends_before_the_next_millisecond() {
            let c = calibrated();
            let rate = c.rate as f64 / 2f64.powi(32);
            for into in [0, 1, 250_000, 999_000, 999_999] {
                let s = at(EPOCH_NS + 10 * CALIBRATION_NS + into);
                let span = c.span(s);
                let left = (1_000_000 - into).min(MAX_SPAN_NS);
                // The last cached tick, `after + span - 1`, in real ns at the
                // true 2.5 ticks/ns after `before` (the earliest the clock
                // read can have been): inside the millisecond and the cap.
                if span != 0 {
                    let last = (100 + span - 1) as f64 / 2.5;
                    assert!(last < left as f64, "{into}: {span} {last} {left}");
                }
                let expected = (left as f64 * rate - 100.0).max(0.0);
                assert!((span as f64 - expected).abs() <= 1.0, "{into}: {span}");
            }
            assert_eq!(Calibration::default().span(at(EPOCH_NS)), 0);
        }

        #[test]
        fn a_busy_sequence_word_skips_the_cache() {
            let cache = Cache::new();
            cache.seq.store(1, Ordering::Relaxed);
            cache.store(at(EPOCH_NS), 1);
            assert_eq!(cache.calibration(), Calibration::default(), "no refill");
            if !supported() {
                return;
            }
            // A fill valid for a long while from now.
            // SAFETY: `supported()` found `rdtscp`.
            let now = unsafe { rdtscp() };
            cache.ms.store(5, Ordering::Relaxed);
            cache.base.store(now, Ordering::Relaxed);
            cache.span.store(u64::MAX / 4, Ordering::Relaxed);
            assert_eq!(cache.cached(), None, "odd: being written");
            cache.seq.store(2, Ordering::Relaxed);
            assert_eq!(cache.cached(), Some(5));
        }

        #[test]
        fn nothing_is_cached_before_a_rate_is_accepted() {
            if !supported() {
                return;
            }
            let cache = Cache::new();
            // A first sample (retried if preempted between its TSC reads).
            let mut v = 0;
            for _ in 0..1000 {
                v = cache.refresh(true);
                if cache.calibration().anchor_ns != 0 {
                    break;
                }
            }
            assert_eq!(cache.calibration().anchor_ns / 1_000_000, v);
            assert_eq!(cache.span.load(Ordering::Relaxed), 0);
            assert_eq!(cache.cached(), None);
        }

        #[test]
        fn a_tsc_below_the_base_reads_the_clock() {
            if !supported() {
                return;
            }
            let cache = Cache::new();
            for k in 0..3 {
                cache.store(at(EPOCH_NS + k * CALIBRATION_NS), 7);
            }
            // A sample from far in the TSC's future, too soon after the
            // last for an estimate: the current TSC is below its base.
            let future = u64::MAX / 2;
            cache.store(
                Sample {
                    before: future,
                    ns: EPOCH_NS + 2 * CALIBRATION_NS + 1000,
                    after: future + 100,
                },
                7,
            );
            assert_ne!(cache.span.load(Ordering::Relaxed), 0);
            assert_eq!(cache.cached(), None);
        }

        #[test]
        fn without_support_nothing_is_cached() {
            let cache = Cache::new();
            for _ in 0..10_000 {
                let before = read_realtime().ms;
                let v = cache.refresh(false);
                let after = read_realtime().ms;
                assert!(before <= v && v <= after, "{before} {v} {after}");
            }
            assert_eq!(cache.calibration(), Calibration::default());
            assert_eq!(cache.span.load(Ordering::Relaxed), 0);
            assert_eq!(cache.cached(), None);
        }

        /// `calls` reads through `cache`, each between two direct reads;
        /// returns how many came from the cache.
        fn between_direct_reads(cache: &Cache, calls: u64) -> u64 {
            let mut hits = 0;
            for _ in 0..calls {
                let before = read_realtime().ms;
                let v = match cache.cached() {
                    Some(ms) => {
                        hits += 1;
                        ms
                    }
                    None => cache.refresh(supported()),
                };
                let after = read_realtime().ms;
                assert!(before <= v && v <= after, "{before} {v} {after}");
            }
            hits
        }

        #[test]
        fn cached_values_lie_between_direct_reads_across_threads() {
            let calls = if cfg!(debug_assertions) {
                1_000_000
            } else {
                5_000_000
            };
            let cache = Cache::new();
            let hits: Vec<u64> = std::thread::scope(|scope| {
                let threads: Vec<_> = (0..3)
                    .map(|_| scope.spawn(|| between_direct_reads(&cache, calls)))
                    .collect();
                threads
                    .into_iter()
                    .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            });
            if supported() {
                assert_ne!(cache.calibration().rate, 0);
                for h in &hits {
                    assert!(*h > calls / 2, "{hits:?} of {calls} from the cache");
                }
            }
        }

        #[test]
        fn the_process_clock_lies_between_direct_reads() {
            let calls = 1_000_000;
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        for _ in 0..calls {
                            let before = read_realtime().ms;
                            let v = crate::realtime_ms();
                            let after = read_realtime().ms;
                            assert!(before <= v && v <= after, "{before} {v} {after}");
                        }
                    });
                }
            });
            if supported() {
                assert_ne!(CACHE.calibration().rate, 0);
            }
        }
    }
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

    #[test]
    fn readings_convert_as_before() {
        assert_eq!(
            Reading::new(0, 1_700_000_000, 123_456_789),
            Reading {
                ms: 1_700_000_000_123,
                ns: Some(1_700_000_000_123_456_789)
            }
        );
        // A failed read leaves the timespec at zero: the epoch, not cached.
        assert_eq!(Reading::new(-1, 0, 0), Reading { ms: 0, ns: None });
        // Before the epoch: the sub-second millis, as always; not cached.
        assert_eq!(
            Reading::new(0, -5, 250_000_000),
            Reading { ms: 250, ns: None }
        );
        assert_eq!(Reading::new(0, i64::MAX, 0).ns, None);
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
