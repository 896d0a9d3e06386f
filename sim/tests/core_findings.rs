//! Minimal reproductions of what the crash simulation found in core, one
//! test per finding (`RELIABILITY.md`, "Findings"). A finding still open in
//! core is `#[ignore]`d with the reason; `cargo test -p dislog-sim --test
//! core_findings -- --ignored` shows it failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dislog_core::{file_name, Config, FileHint, FileKind, Log, Storage, StorageFile};
use dislog_sim::{CrashMode, Faults, Op, OpSet, SimStorage};

fn tiny() -> Config {
    Config {
        // Two 10-byte records per segment.
        max_store_bytes: 24 + 2 * 34,
        max_index_bytes: 1024,
        ..Config::default()
    }
}

/// Finding 1 (fixed): after a process crash (files complete, nothing
/// synced), reopening and calling `sync` must make the recovered records
/// durable.
#[test]
fn sync_after_unclean_reopen_makes_old_records_durable() {
    let storage = SimStorage::new(1);
    let mut log = Log::open(storage.clone(), Config::default()).unwrap();
    log.append(b"before the process died").unwrap();
    drop(log); // the process dies; the OS still holds the bytes
    let mut log = Log::open(storage.clone(), Config::default()).unwrap();
    assert_eq!(log.next_offset(), 1);
    log.sync().unwrap(); // acknowledged as durable
    drop(log);
    let media = storage.crash_with(CrashMode::LoseUnsynced);
    let log = Log::open(media, Config::default()).unwrap();
    assert_eq!(log.next_offset(), 1, "a synced record was lost");
    assert_eq!(&*log.read(0).unwrap().payload, b"before the process died");
}

/// Finding 3 (fixed): names are not durable in any order until a directory
/// sync. Prefix truncation removing two segments, then a power cut: if the
/// second removal lands and the first does not, recovery saw a gap and
/// dropped the newer segments, synced records included.
#[test]
fn prefix_truncation_never_costs_synced_records() {
    for seed in 0..64 {
        let storage = SimStorage::new(seed);
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        for i in 0..7u8 {
            log.append(&[i; 10]).unwrap();
        }
        log.sync().unwrap();
        assert!(log.segment_count() >= 4);
        log.truncate(4).unwrap(); // removes segments 0 and 2
        drop(log);
        let media = storage.crash_with(CrashMode::Random {
            garbage: false,
            zero_fill: false,
            torn_headers: false,
        });
        let log = Log::open(media, tiny()).unwrap();
        assert_eq!(log.next_offset(), 7, "seed {seed}: {:?}", log.repairs());
        for o in 4..7u8 {
            assert_eq!(&*log.read(u64::from(o)).unwrap().payload, &[o; 10]);
        }
    }
}

/// Finding 3 (fixed), second form: a suffix truncation below the lowest
/// offset creates the new empty segment before removing the old one, but
/// without a directory sync between them the removal could land alone, and
/// the log forgot its next offset (offsets would be handed out again).
#[test]
fn a_cut_that_empties_the_log_never_forgets_the_next_offset() {
    for seed in 0..64 {
        let storage = SimStorage::new(seed);
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        for i in 0..3u8 {
            log.append(&[i; 10]).unwrap();
        }
        log.truncate(2).unwrap();
        log.sync().unwrap();
        // Cut the power at the directory sync that ends the truncation.
        let dry = storage.fork();
        let mut dry_log = Log::open(dry.clone(), tiny()).unwrap();
        let before = dry.ops();
        dry_log.truncate_suffix(1).unwrap();
        let cut_at = dry.ops() - 1;
        drop(dry_log);
        let _ = before;
        drop(log);
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        storage.set_faults(Faults {
            power_cut_at: Some(cut_at),
            ..Faults::default()
        });
        assert!(log.truncate_suffix(1).is_err());
        drop(log);
        let media = storage.crash_with(CrashMode::Random {
            garbage: false,
            zero_fill: false,
            torn_headers: false,
        });
        let log = Log::open(media, tiny()).unwrap();
        assert!(
            log.next_offset() >= 1,
            "seed {seed}: the log restarted at {}",
            log.next_offset()
        );
    }
}

/// Finding 2 (fixed): a store created since the last sync may come
/// back with a torn header (partly written, partly zero or garbage — the
/// contract allows any state for unsynced bytes). Open then fails with
/// `FORMAT`, as for a foreign file, and the log does not open at all.
#[test]
fn a_torn_header_of_a_new_store_does_not_stop_open() {
    for seed in 0..64 {
        let storage = SimStorage::new(seed);
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        log.append(&[1; 10]).unwrap();
        log.append(&[2; 10]).unwrap();
        log.sync().unwrap();
        log.append(&[3; 10]).unwrap(); // rolls: a new store, unsynced
        drop(log);
        let media = storage.crash_with(CrashMode::ANY);
        let log = Log::open(media, tiny());
        let log = log.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(log.next_offset() >= 2);
    }
}

/// Finding 4 (fixed): recovery rebuilds an index in place (create
/// truncates it, then the entries are appended, and under
/// `SyncPolicy::Manual` nothing is synced). A power cut before the next sync
/// tears entries that had been synced, and the next open's fast check only
/// looks at the last entry, so synced records read as `CORRUPT`.
#[test]
fn a_crash_after_recovery_rebuilt_an_index_keeps_synced_records() {
    let config = Config {
        max_store_bytes: 1 << 20,
        ..Config::default()
    };
    for seed in 290..300 {
        let storage = SimStorage::new(seed);
        let mut log = Log::open(storage.clone(), config).unwrap();
        for i in 0..40u8 {
            log.append(&[i; 10]).unwrap();
        }
        log.sync().unwrap();
        drop(log);
        // An index one entry short (a torn last entry) makes open rebuild it.
        let name = file_name(0, FileKind::Index);
        let hint = FileHint {
            kind: FileKind::Index,
            capacity: 1 << 20,
        };
        let mut index = storage.open(&name, hint).unwrap();
        let len = index.len();
        index.truncate(len - 16).unwrap();
        index.sync().unwrap();
        drop(index);
        let log = Log::open(storage.clone(), config).unwrap();
        assert!(!log.repairs().is_empty());
        drop(log); // no sync: Manual policy
        let media = storage.crash_with(CrashMode::WHOLE_HEADERS);
        let log = Log::open(media, config).unwrap();
        for o in 0..40u8 {
            let r = log.read(u64::from(o));
            let r = r.unwrap_or_else(|e| panic!("seed {seed}: synced offset {o}: {e}"));
            assert_eq!(&*r.payload, &[o; 10]);
        }
    }
}

/// Finding 5 (fixed): `reset` removes every segment first; when a
/// removal, the directory sync or the creation of the new segment fails, the
/// log is left with no segment and is not poisoned, and the next call
/// panics (`active()` indexes an empty list).
#[test]
fn a_failed_reset_leaves_a_usable_or_poisoned_log() {
    for fail in 0..6 {
        let storage = SimStorage::new(5);
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        for i in 0..5u8 {
            log.append(&[i; 10]).unwrap();
        }
        let at = storage.ops() + fail;
        storage.set_faults(Faults {
            fail_at: Some(at),
            ..Faults::default()
        });
        assert!(log.reset().is_err(), "failure {fail}");
        // Either works or refuses with an error: never a panic.
        let _ = log.next_offset();
        let _ = log.append(b"after a failed reset");
        let _ = log.read(0);
    }
}

/// Finding 6 (fixed): `Log::records` turns a failure to find its
/// start (an index entry that cannot be read) into an empty iterator, so a
/// reader sees an empty log and no error. `Log::iter` reports it.
#[test]
fn records_reports_an_unreadable_start() {
    let storage = SimStorage::new(6);
    let mut log = Log::open(storage.clone(), Config::default()).unwrap();
    log.append(b"one").unwrap();
    log.append(b"two").unwrap();
    // The index loses its entries under the open log (a failed truncate
    // that happened, or damage).
    let hint = FileHint {
        kind: FileKind::Index,
        capacity: 1 << 20,
    };
    let mut index = storage.open(&file_name(0, FileKind::Index), hint).unwrap();
    index.truncate(24).unwrap();
    assert!(log.read(0).is_err());
    assert!(log.iter(0).is_err());
    let items: Vec<_> = log.records().collect();
    assert!(
        items.iter().any(Result::is_err),
        "records() yielded {} items and no error for a log of 2 records",
        items.len()
    );
}

/// Recovery removed a segment on the strength of a name that was not yet
/// durable. A suffix cut below the lowest offset creates the new empty
/// segment first; when that creation fails (its store's sync), the reopen
/// sees the new empty store, drops the old segment after it, and removes it
/// before any directory sync. A power cut then could keep the removal and
/// lose the creation: no store at all, and the log restarted at its initial
/// offset (offsets would repeat). Found as io_errors::random_failures seed
/// 46283.
#[test]
fn recovery_never_removes_a_segment_before_what_replaces_it_is_durable() {
    let syncs_fail = |kind| Faults {
        fail_per_million: 1_000_000,
        fail_kinds: OpSet::NONE.with(kind),
        ..Faults::default()
    };
    for seed in 0..64 {
        let storage = SimStorage::new(seed);
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        for i in 0..4u8 {
            log.append(&[i; 10]).unwrap();
        }
        log.truncate(2).unwrap(); // segment 2 holds 2 and 3
        log.sync().unwrap();
        storage.set_faults(syncs_fail(Op::Sync));
        assert!(log.truncate_suffix(1).is_err()); // store 1 created, unsynced
        drop(log); // the process restarts
                   // The reopen drops segment 2 and fails at its directory sync.
        storage.set_faults(syncs_fail(Op::SyncDir));
        assert!(Log::open(storage.clone(), tiny()).is_err());
        let media = storage.crash_with(CrashMode::WHOLE_HEADERS);
        let log = Log::open(media, tiny()).unwrap();
        assert!(
            log.next_offset() >= 1,
            "seed {seed}: the log restarted at {} ({:?})",
            log.next_offset(),
            log.repairs()
        );
    }
}

/// The fast check on open looks at the last index entry only. A power cut
/// while an unsynced index page was written back can leave a middle entry
/// torn (garbage) and the last one whole: `read` of that offset then
/// returned `CORRUPT` while iteration, which follows the store's frames,
/// returned the record, and the offsets after it read fine (a hole). Found
/// as crash::power_cut_at_a_random_operation seed 15406 (and nine more in
/// the long mode, in sealed segments too). The torn entry is made by hand
/// here, in the active and in a sealed segment.
#[test]
fn a_torn_middle_index_entry_reads_as_iteration_does() {
    let config = Config {
        // Four 10-byte records per segment.
        max_store_bytes: 24 + 4 * 34,
        ..tiny()
    };
    for (segment, entry) in [(0u64, 1u64), (4, 2), (4, 0), (0, 0)] {
        let storage = SimStorage::new(7);
        let mut log = Log::open(storage.clone(), config).unwrap();
        for i in 0..7u8 {
            log.append(&[i; 10]).unwrap();
        }
        drop(log);
        let name = file_name(segment, FileKind::Index);
        let mut bytes = storage.live_bytes(&name).unwrap();
        let at = 24 + 16 * entry as usize;
        bytes[at..at + 16].copy_from_slice(&0x12dc_3a5b_77e1_0f88u64.to_le_bytes().repeat(2));
        storage.set_file_bytes(&name, bytes);
        let log = Log::open(storage, config).unwrap();
        assert_eq!(log.next_offset(), 7);
        let iterated: Vec<_> = log.records().map(|r| r.unwrap().payload.to_vec()).collect();
        assert_eq!(iterated.len(), 7, "entry {entry} of segment {segment}");
        for o in 0..7u8 {
            let r = log.read(u64::from(o));
            let r = r.unwrap_or_else(|e| panic!("entry {entry} of segment {segment}: {e}"));
            assert_eq!(&*r.payload, &[o; 10]);
            let from: Vec<_> = log
                .iter(u64::from(o))
                .unwrap()
                .map(|r| r.unwrap().offset)
                .collect();
            assert_eq!(from, (u64::from(o)..7).collect::<Vec<_>>());
        }
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some(0));
    }
}

/// Finding 11 (fixed): after an unclean shutdown a segment's store header
/// may be only in the page cache (a sync that failed before it), so the
/// roll that seals the segment makes that header durable before the next
/// segment is created (`sync_prefix`, not a sync of the whole store: the
/// records go with the next sync); once a sync since the open has covered
/// it, the roll does neither.
#[test]
fn a_roll_after_an_unclean_open_syncs_the_header_it_seals_unless_a_sync_did() {
    // (header syncs, whole-file syncs) of the first store before the roll
    // created the next segment.
    let syncs_of_first_store = |sync_first: bool| {
        let storage = SimStorage::new(11);
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        log.append(&[1; 10]).unwrap();
        drop(log); // unclean: the next open cannot know the header is durable
        let mut log = Log::open(storage.clone(), tiny()).unwrap();
        if sync_first {
            log.sync().unwrap();
        }
        storage.start_trace();
        while log.segment_count() == 1 {
            log.append(&[2; 10]).unwrap();
        }
        let store = file_name(0, FileKind::Store);
        let trace = storage.trace();
        let created = trace
            .iter()
            .position(|l| l.contains("Create"))
            .expect("the roll created a segment");
        let count = |op: &str| {
            trace[..created]
                .iter()
                .filter(|l| l.contains(&format!(": {op} ")) && l.ends_with(&store))
                .count()
        };
        (count("SyncPrefix"), count("Sync"))
    };
    assert_eq!(syncs_of_first_store(false), (1, 0));
    // `sync` runs through the files' syncers here (a `SyncJob`).
    assert_eq!(syncs_of_first_store(true), (0, 0));
}
