//! The seeded workload, the model it is checked against, and the seed
//! runner shared by the simulation tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use dislog_core::{Config, Error, ErrorCode, Log, SyncPolicy};
use dislog_sim::{Rng, SimStorage};

thread_local! {
    static NOW: Cell<u64> = const { Cell::new(1_000) };
}

/// The log's clock in simulations: a per-thread counter the workload moves.
pub fn sim_clock() -> u64 {
    NOW.with(Cell::get)
}

fn advance_clock(ms: u64) {
    NOW.with(|now| now.set(now.get() + ms));
}

/// The seeds to run: `DISLOG_SIM_SEED=<n>` replays one, otherwise
/// `DISLOG_SIM_SEEDS` (default `default`) seeds from 0.
pub fn seeds(default: u64) -> Vec<u64> {
    if let Some(seed) = env_u64("DISLOG_SIM_SEED") {
        return vec![seed];
    }
    (0..env_u64("DISLOG_SIM_SEEDS").unwrap_or(default)).collect()
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

/// Runs `run` for every seed, catching panics, and fails with the first
/// failures and the command that replays each.
pub fn run_seeds(test: &str, test_fn: &str, default: u64, run: impl Fn(u64) -> Result<(), String>) {
    let seeds = seeds(default);
    let mut failures = Vec::new();
    for &seed in &seeds {
        NOW.with(|now| now.set(1_000));
        let outcome = catch_unwind(AssertUnwindSafe(|| run(seed)));
        let failure = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("?")
            ),
        };
        failures.push((seed, failure));
        if failures.len() >= 5 {
            break;
        }
    }
    if !failures.is_empty() {
        let mut report = format!("{} failing seed(s) of {}:\n", failures.len(), seeds.len());
        for (seed, why) in &failures {
            report += &format!(
                "\nseed {seed}: {why}\n  replay: DISLOG_SIM_SEED={seed} cargo test -p dislog-sim --test {test} -- {test_fn} --nocapture\n"
            );
        }
        panic!("{report}");
    }
}

/// A random configuration with tiny segments, so that rolls are constant.
pub fn random_config(rng: &mut Rng) -> Config {
    let max_store_bytes = if rng.chance(1, 10) {
        rng.range(300, 2_000)
    } else {
        rng.range(49, 260)
    };
    let sync = match rng.below(20) {
        0..=9 => SyncPolicy::Manual,
        10..=12 => SyncPolicy::EveryAppend,
        13..=16 => SyncPolicy::EveryBytes(rng.range(1, 400)),
        _ => SyncPolicy::EveryMillis(rng.range(1, 30)),
    };
    let initial_offset = match rng.below(20) {
        0..=13 => 0,
        14..=18 => rng.below(1_000_000),
        _ => u64::MAX - rng.range(5, 60),
    };
    Config {
        max_store_bytes,
        max_index_bytes: rng.range(40, 24 + 16 * 12),
        initial_offset,
        max_record_bytes: if rng.chance(1, 2) {
            rng.range(1, 200)
        } else {
            8 << 20
        },
        sync,
        clock: sim_clock,
    }
}

/// A record as the model knows it.
pub type Value = (u64, Vec<u8>);

/// What the log must hold, and may hold, at each offset.
#[derive(Clone, Debug)]
pub struct Model {
    config: Config,
    /// Acknowledged records, `lowest..next`.
    pub records: BTreeMap<u64, Value>,
    /// The offset the next append gets.
    pub next: u64,
    /// Every value that may be found at an offset after a crash: appended
    /// there since the last durable suffix cut at or below it.
    allowed: BTreeMap<u64, Vec<Value>>,
    /// `next` at the last completed sync.
    synced_next: u64,
    /// The lowest offset (or `next` when empty) at the last completed sync.
    synced_floor: u64,
    /// Lowest `from` of a suffix truncation that failed or was cut short
    /// since the last completed sync.
    cut: Option<u64>,
    /// Records below this may be gone: a prefix truncation failed or was
    /// cut short since the last completed sync.
    vanish_below: Option<u64>,
    /// Whether a reset failed or was cut short since the last sync.
    reset_pending: bool,
    /// Store bytes appended since the last sync (for `EveryBytes`).
    unsynced_bytes: u64,
    /// The clock at the last sync (for `EveryMillis`).
    last_sync_ms: u64,
    /// Whether an unpromised record may read as CORRUPT after a crash.
    pub corrupt_unsynced_ok: bool,
    /// How many did.
    pub corrupt_seen: u64,
}

/// Which kind of restart a check follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// A power loss: only what was synced is promised.
    PowerLoss,
    /// A process restart: everything acknowledged is promised.
    Process,
}

impl Model {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            records: BTreeMap::new(),
            next: config.initial_offset,
            allowed: BTreeMap::new(),
            synced_next: config.initial_offset,
            synced_floor: config.initial_offset,
            cut: None,
            vanish_below: None,
            reset_pending: false,
            unsynced_bytes: 0,
            last_sync_ms: sim_clock(),
            corrupt_unsynced_ok: true,
            corrupt_seen: 0,
        }
    }

    pub fn lowest(&self) -> Option<u64> {
        self.records.keys().next().copied()
    }

    fn floor(&self) -> u64 {
        self.lowest().unwrap_or(self.next)
    }

    /// Records a completed sync of everything acknowledged.
    pub fn synced(&mut self) {
        self.synced_next = self.next;
        self.synced_floor = self.floor();
        self.cut = None;
        self.vanish_below = None;
        self.reset_pending = false;
        self.unsynced_bytes = 0;
        self.last_sync_ms = sim_clock();
    }

    /// A log was (re)opened: the sync policy counters restart.
    pub fn reopened(&mut self) {
        self.unsynced_bytes = 0;
        self.last_sync_ms = sim_clock();
    }

    /// Marks values about to be appended at `next..` as possible.
    fn expect_append(&mut self, values: &[Value]) {
        for (i, v) in values.iter().enumerate() {
            if let Some(o) = self.next.checked_add(i as u64) {
                self.allowed.entry(o).or_default().push(v.clone());
            }
        }
    }

    /// Records acknowledged appends and applies the sync policy.
    fn appended(&mut self, values: &[Value]) {
        for v in values {
            self.records.insert(self.next, v.clone());
            self.next += 1;
            self.unsynced_bytes += 24 + v.1.len() as u64;
        }
        let due = match self.config.sync {
            SyncPolicy::Manual => false,
            SyncPolicy::EveryAppend => true,
            SyncPolicy::EveryBytes(n) => self.unsynced_bytes >= n,
            SyncPolicy::EveryMillis(ms) => sim_clock().saturating_sub(self.last_sync_ms) >= ms,
        };
        if due {
            self.synced();
        }
    }

    /// The offsets that must be present after a restart, with their values.
    fn required(&self, restart: Restart) -> std::ops::Range<u64> {
        if self.reset_pending {
            return 0..0;
        }
        let hi = match restart {
            Restart::PowerLoss => self.synced_next,
            Restart::Process => self.next,
        };
        let hi = self.cut.map_or(hi, |cut| hi.min(cut));
        let lo = self.floor().max(self.vanish_below.unwrap_or(0));
        lo..hi.max(lo)
    }

    /// Checks a reopened log against what the model promises, then takes
    /// what it found as the new acknowledged state.
    pub fn check_recovered(
        &mut self,
        log: &Log<SimStorage>,
        restart: Restart,
    ) -> Result<(), String> {
        let required = self.required(restart);
        let (lowest, next) = (log.lowest_offset(), log.next_offset());
        if !required.is_empty() {
            let ok = lowest.is_some_and(|lo| lo <= required.start) && next >= required.end;
            if !ok {
                return Err(format!(
                    "after {restart:?} the log holds {lowest:?}..{next} but records {required:?} were promised"
                ));
            }
        }
        let end_floor = self
            .cut
            .map_or(self.synced_next, |c| c.min(self.synced_next));
        if !self.reset_pending && restart == Restart::PowerLoss && next < end_floor {
            return Err(format!(
                "after {restart:?} the next offset is {next}, below {end_floor} (offsets would repeat)"
            ));
        }
        if let Some(lo) = lowest {
            let in_flight = self.vanish_below.is_some() || self.cut.is_some() || self.reset_pending;
            if !in_flight && lo < self.synced_floor && restart == Restart::PowerLoss {
                return Err(format!(
                    "after {restart:?} the lowest offset is {lo}, below {} where a synced truncation left it",
                    self.synced_floor
                ));
            }
        }
        let mut found = BTreeMap::new();
        let mut corrupt_from = None;
        if let Some(lo) = lowest {
            for o in lo..next {
                match log.read(o) {
                    Ok(r) => {
                        let v = (r.timestamp, r.payload.to_vec());
                        if r.offset != o {
                            return Err(format!("read({o}) returned offset {}", r.offset));
                        }
                        let must = required.contains(&o).then(|| self.records.get(&o));
                        if let Some(expected) = must {
                            if expected != Some(&v) {
                                return Err(format!(
                                    "after {restart:?} offset {o} holds {} but {} was promised",
                                    show(Some(&v)),
                                    show(expected)
                                ));
                            }
                        } else if !self.allowed.get(&o).is_some_and(|a| a.contains(&v)) {
                            return Err(format!(
                                "after {restart:?} offset {o} holds {}, never appended there",
                                show(Some(&v))
                            ));
                        }
                        found.insert(o, v);
                    }
                    // Documented (FORMAT.md, "Recovery"): a torn record the fast
                    // check cannot see reads as CORRUPT, never as other bytes.
                    // Only records nobody was promised may be in that state.
                    Err(e)
                        if e.code() == ErrorCode::Corrupt
                            && !required.contains(&o)
                            && self.corrupt_unsynced_ok =>
                    {
                        self.corrupt_seen += 1;
                        corrupt_from.get_or_insert(o);
                    }
                    Err(e) => return Err(format!("after {restart:?} read({o}) failed: {e}")),
                }
            }
        }
        let mut iterated = Vec::new();
        let mut iter_error = None;
        // `iter` rather than `records`: `records` turns a failed start into
        // an empty iterator (RELIABILITY.md, finding 6).
        let records = match lowest.map(|lo| log.iter(lo)) {
            Some(Ok(iter)) => Some(iter),
            Some(Err(e)) => {
                iter_error = Some(e);
                None
            }
            None => None,
        };
        for r in records.into_iter().flatten() {
            match r {
                Ok(r) => iterated.push((r.offset, (r.timestamp, r.payload.to_vec()))),
                Err(e) => {
                    iter_error = Some(e);
                    break;
                }
            }
        }
        let stop = corrupt_from.unwrap_or(next);
        let expected: Vec<_> = found.range(..stop).map(|(&o, v)| (o, v.clone())).collect();
        if iterated != expected || iter_error.is_some() != corrupt_from.is_some() {
            return Err(format!(
                "iteration gives {} records (error: {iter_error:?}), reads {} before {stop}",
                iterated.len(),
                expected.len()
            ));
        }
        self.records = found;
        self.next = next;
        Ok(())
    }

    /// Checks that the running log holds exactly the acknowledged records.
    pub fn check_exact(&self, log: &Log<SimStorage>) -> Result<(), String> {
        if log.next_offset() != self.next || log.lowest_offset() != self.lowest() {
            return Err(format!(
                "log holds {:?}..{} but the model {:?}..{}",
                log.lowest_offset(),
                log.next_offset(),
                self.lowest(),
                self.next
            ));
        }
        for (&o, expected) in &self.records {
            let r = log.read(o).map_err(|e| format!("read({o}) failed: {e}"))?;
            if (r.timestamp, &*r.payload) != (expected.0, &expected.1[..]) {
                return Err(format!("read({o}) returned other bytes"));
            }
        }
        let count = log.records().count() as u64;
        if count != self.records.len() as u64 {
            return Err(format!(
                "iteration yields {count} records, the model holds {}",
                self.records.len()
            ));
        }
        Ok(())
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some((ts, p)) if p.len() <= 8 => format!("ts {ts} {p:02x?}"),
        Some((ts, p)) => format!("ts {ts} {} bytes {:02x?}..", p.len(), &p[..8]),
    }
}

/// How a workload step ended.
pub enum Step {
    /// The call succeeded or failed as the model expected.
    Done,
    /// The call failed with a storage error (injected fault or power cut).
    Failed(Error),
}

/// A seeded random workload driving one log and its model.
pub struct Workload {
    pub rng: Rng,
    pub config: Config,
    pub storage: SimStorage,
    pub log: Option<Log<SimStorage>>,
    pub model: Model,
    /// Short description of each step, for failure reports.
    pub trace: Vec<String>,
    /// Whether `reset` is among the steps.
    pub allow_reset: bool,
}

impl Workload {
    /// Opens a new log on `storage`.
    pub fn new(rng: Rng, config: Config, storage: SimStorage) -> Result<Self, String> {
        let log = Log::open(storage.clone(), config).map_err(|e| format!("first open: {e}"))?;
        Ok(Self {
            rng,
            config,
            storage,
            log: Some(log),
            model: Model::new(config),
            trace: Vec::new(),
            allow_reset: true,
        })
    }

    pub fn log(&mut self) -> &mut Log<SimStorage> {
        self.log.as_mut().expect("log is open")
    }

    fn payload(&mut self) -> Vec<u8> {
        let limit = self.config.record_limit();
        let len = match self.rng.below(20) {
            0..=2 => 0,
            3..=12 => self.rng.range(1, 16),
            13..=17 => self.rng.range(17, 120),
            18 => limit,
            _ => limit + self.rng.range(1, 3),
        };
        let mut p = vec![0; len as usize];
        self.rng.fill(&mut p);
        p
    }

    /// Runs one random operation and checks its result against the model.
    /// Returns `Err` on a broken promise.
    pub fn step(&mut self) -> Result<Step, String> {
        let choice = self.rng.below(100);
        advance_clock(self.rng.below(5));
        match choice {
            0..=34 => {
                let p = self.payload();
                let ts = if self.rng.chance(1, 4) {
                    self.rng.below(10_000)
                } else {
                    sim_clock()
                };
                self.append(vec![p], Some(ts))
            }
            35..=49 => {
                let n = self.rng.range(0, 8);
                let batch: Vec<Vec<u8>> = (0..n).map(|_| self.payload()).collect();
                self.append(batch, None)
            }
            50..=61 => {
                self.trace.push("sync".into());
                self.write_op(|log| log.sync(), |m| m.synced())
            }
            62..=65 => {
                self.trace.push("flush".into());
                self.write_op(|log| log.flush(), |_| {})
            }
            66..=73 => {
                let lo = self.model.floor().saturating_sub(1);
                let to = self.rng.range(lo, self.model.next.saturating_add(2));
                self.prefix(format!("truncate({to})"), to, move |log| log.truncate(to))
            }
            74..=79 => {
                let size = self
                    .log()
                    .size_bytes()
                    .unwrap_or_else(|e| panic!("size_bytes: {e}"));
                let max = self.rng.below(size + 50);
                let bound = self.active_base();
                self.prefix(format!("retain_bytes({max})"), bound, move |log| {
                    log.retain_bytes(max)
                })
            }
            80..=83 => {
                let ts = self.rng.below(sim_clock() + 10);
                let bound = self.active_base();
                self.prefix(format!("retain_since({ts})"), bound, move |log| {
                    log.retain_since(ts)
                })
            }
            84..=91 => {
                let lo = self.model.floor().saturating_sub(2);
                let from = self.rng.range(lo, self.model.next.saturating_add(1));
                self.suffix(from)
            }
            92..=95 => self.reopen(true),
            96..=98 => self.reopen(false),
            _ if self.allow_reset => self.reset(),
            _ => self.reopen(false),
        }
    }

    fn active_base(&mut self) -> u64 {
        let segments = self
            .log()
            .segments()
            .unwrap_or_else(|e| panic!("segments: {e}"));
        segments.last().map_or(0, |s| s.base)
    }

    /// Runs a write that changes nothing the model tracks but `on_ok`.
    fn write_op(
        &mut self,
        f: impl FnOnce(&mut Log<SimStorage>) -> Result<(), Error>,
        on_ok: impl FnOnce(&mut Model),
    ) -> Result<Step, String> {
        match f(self.log()) {
            Ok(()) => {
                on_ok(&mut self.model);
                Ok(Step::Done)
            }
            Err(e) => Ok(Step::Failed(e)),
        }
    }

    fn append(&mut self, payloads: Vec<Vec<u8>>, ts: Option<u64>) -> Result<Step, String> {
        let ts_value = ts.unwrap_or_else(sim_clock);
        let values: Vec<Value> = payloads.iter().map(|p| (ts_value, p.clone())).collect();
        let limit = self.config.record_limit();
        let too_large = payloads.iter().any(|p| p.len() as u64 > limit);
        let overflow = self.model.next.checked_add(payloads.len() as u64).is_none();
        self.trace.push(format!(
            "append {} records ({:?} bytes) at {}",
            payloads.len(),
            payloads.iter().map(Vec::len).collect::<Vec<_>>(),
            self.model.next
        ));
        self.model.expect_append(&values);
        let before = self.model.next;
        let result = match (ts, payloads.len()) {
            (Some(ts), 1) => self.log().append_at(&payloads[0], ts),
            (Some(ts), _) => self.log().append_batch_at(&payloads, ts),
            (None, _) => self.log().append_batch(&payloads),
        };
        match result {
            Ok(first) => {
                if payloads.is_empty() || too_large || overflow {
                    return Err(format!("append of an invalid batch succeeded at {first}"));
                }
                if first != before {
                    return Err(format!("append returned offset {first}, expected {before}"));
                }
                self.model.appended(&values);
                Ok(Step::Done)
            }
            Err(e) => {
                let expected = match &e {
                    Error::InvalidArgument(_) => payloads.is_empty() || overflow,
                    Error::RecordTooLarge { .. } => too_large,
                    Error::Storage(_) | Error::Poisoned(_) => return Ok(Step::Failed(e)),
                    _ => false,
                };
                if !expected {
                    return Err(format!("append failed unexpectedly: {e}"));
                }
                if self.log().next_offset() != before {
                    return Err(format!("a refused append moved the log's end: {e}"));
                }
                Ok(Step::Done)
            }
        }
    }

    fn prefix(
        &mut self,
        what: String,
        bound: u64,
        f: impl FnOnce(&mut Log<SimStorage>) -> Result<dislog_core::Removed, Error>,
    ) -> Result<Step, String> {
        self.trace.push(what.clone());
        let old_floor = self.model.floor();
        match f(self.log()) {
            Ok(removed) => {
                let log = self.log.as_ref().expect("open");
                let (lowest, next) = (log.lowest_offset(), log.next_offset());
                if next != self.model.next {
                    return Err(format!("{what} moved the end to {next}"));
                }
                let new_floor = lowest.unwrap_or(next);
                if new_floor < old_floor || new_floor > old_floor.max(bound) {
                    return Err(format!(
                        "{what} moved the lowest offset from {old_floor} to {new_floor} (bound {bound})"
                    ));
                }
                if removed.records != new_floor - old_floor {
                    return Err(format!(
                        "{what} reports {} records removed, but {} were",
                        removed.records,
                        new_floor - old_floor
                    ));
                }
                if let Some(ts) = what
                    .strip_prefix("retain_since(")
                    .and_then(|s| s.trim_end_matches(')').parse::<u64>().ok())
                {
                    if let Some((o, _)) = self
                        .model
                        .records
                        .range(old_floor..new_floor)
                        .find(|(_, v)| v.0 >= ts)
                    {
                        return Err(format!("{what} removed offset {o}, which is not older"));
                    }
                }
                if let Some(max) = what
                    .strip_prefix("retain_bytes(")
                    .and_then(|s| s.trim_end_matches(')').parse::<u64>().ok())
                {
                    let size = log.size_bytes().map_err(|e| format!("{what}: size: {e}"))?;
                    if size > max && log.segment_count() > 1 {
                        return Err(format!("{what} left {size} bytes"));
                    }
                }
                self.model.records = self.model.records.split_off(&new_floor);
                Ok(Step::Done)
            }
            Err(e) => {
                self.model.vanish_below = Some(self.model.vanish_below.unwrap_or(0).max(bound));
                Ok(Step::Failed(e))
            }
        }
    }

    fn suffix(&mut self, from: u64) -> Result<Step, String> {
        self.trace.push(format!("truncate_suffix({from})"));
        match self.log().truncate_suffix(from) {
            Ok(()) => {
                if from < self.model.next {
                    self.model.records.split_off(&from);
                    self.model.next = from;
                    // Durable before it returns: what was above never comes back.
                    self.model.allowed.split_off(&from);
                    self.model.synced();
                }
                self.check_end()?;
                Ok(Step::Done)
            }
            Err(e) => {
                let cut = self.model.cut.map_or(from, |c| c.min(from));
                self.model.cut = Some(cut);
                Ok(Step::Failed(e))
            }
        }
    }

    fn reset(&mut self) -> Result<Step, String> {
        self.trace.push("reset".into());
        match self.log().reset() {
            Ok(()) => {
                self.model.records.clear();
                self.model.allowed.clear();
                self.model.next = self.config.initial_offset;
                self.model.synced();
                self.check_end()?;
                Ok(Step::Done)
            }
            Err(e) => {
                self.model.reset_pending = true;
                Ok(Step::Failed(e))
            }
        }
    }

    fn check_end(&mut self) -> Result<(), String> {
        let log = self.log.as_ref().expect("open");
        if log.next_offset() != self.model.next || log.lowest_offset() != self.model.lowest() {
            return Err(format!(
                "log holds {:?}..{}, model {:?}..{}",
                log.lowest_offset(),
                log.next_offset(),
                self.model.lowest(),
                self.model.next
            ));
        }
        Ok(())
    }

    /// Closes (cleanly or not) and reopens the log on the same storage.
    fn reopen(&mut self, clean: bool) -> Result<Step, String> {
        self.trace.push(format!("reopen (clean: {clean})"));
        let log = self.log.take().expect("open");
        if clean {
            if let Err(e) = log.close() {
                // The log is gone either way; the caller reopens it.
                return Ok(Step::Failed(e));
            }
            self.model.synced();
        } else {
            drop(log);
        }
        let log = match Log::open(self.storage.clone(), self.config) {
            Ok(log) => log,
            Err(e) => {
                if self.storage.is_powered_off() || self.storage.injected() > 0 {
                    return Ok(Step::Failed(e));
                }
                return Err(format!("reopen failed: {e}"));
            }
        };
        if clean && !log.repairs().is_empty() {
            return Err(format!(
                "reopen after a clean close made repairs: {:?}",
                log.repairs()
            ));
        }
        self.model.reopened();
        self.log = Some(log);
        let model = &self.model;
        model.check_exact(self.log.as_ref().expect("open"))?;
        Ok(Step::Done)
    }

    /// Checks the running log against the model, exactly.
    pub fn check(&mut self) -> Result<(), String> {
        let log = self.log.as_ref().expect("open");
        self.model.check_exact(log)
    }

    /// The last steps, for a failure report.
    pub fn recent(&self) -> String {
        let start = self.trace.len().saturating_sub(12);
        format!(
            "config {:?}; last steps (of {}): {}",
            (
                self.config.max_store_bytes,
                self.config.max_index_bytes,
                self.config.max_record_bytes,
                self.config.initial_offset,
                self.config.sync
            ),
            self.trace.len(),
            self.trace[start..].join("; ")
        )
    }
}
