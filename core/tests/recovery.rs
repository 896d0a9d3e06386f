//! Crash recovery on open: torn tails, corrupt bytes, broken or missing
//! indexes, gaps between segments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{all, filled, names, payload, tiny};
use dislog_core::{
    file_name, Config, Error, ErrorCode, FileKind, Log, MemoryStorage, Repair, HEADER_LEN,
};

/// Larger segments than `tiny`: a handful of records each.
fn small() -> Config {
    Config {
        max_store_bytes: 24 + 8 * 64,
        max_index_bytes: 24 + 16 * 8,
        ..tiny()
    }
}

/// The positions of `range` a byte sweep tries: all of them or, under
/// miri (about a thousand times slower), every `miri_step`-th one from
/// `range.start + phase % miri_step`, plus the first and the last: the same
/// checks on fewer trials.
fn sweep(
    range: std::ops::Range<usize>,
    miri_step: usize,
    phase: usize,
) -> impl Iterator<Item = usize> {
    let (start, end) = (range.start, range.end);
    range.filter(move |&p| {
        !cfg!(miri) || p == start || p + 1 == end || (p - start) % miri_step == phase % miri_step
    })
}

fn store(base: u64) -> String {
    file_name(base, FileKind::Store)
}

fn index(base: u64) -> String {
    file_name(base, FileKind::Index)
}

/// Every file's bytes, to put a storage back between trials.
fn image(storage: &MemoryStorage) -> Vec<(String, Vec<u8>)> {
    names(storage)
        .into_iter()
        .map(|n| {
            let bytes = storage.file_bytes(&n).unwrap();
            (n, bytes)
        })
        .collect()
}

fn load(files: &[(String, Vec<u8>)]) -> MemoryStorage {
    let storage = MemoryStorage::new();
    for (name, bytes) in files {
        storage.set_file_bytes(name, bytes.clone()).unwrap();
    }
    storage
}

/// A closed log of `n` records and the base of its active segment.
fn closed(config: Config, n: u64) -> (Vec<(String, Vec<u8>)>, u64) {
    let (storage, log) = filled(config, n);
    let active = log.segments().unwrap().into_iter().last().unwrap().base;
    log.close().unwrap();
    (image(&storage), active)
}

fn set(files: &mut [(String, Vec<u8>)], name: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let (_, bytes) = files.iter_mut().find(|(n, _)| n == name).unwrap();
    f(bytes);
}

fn remove(files: &mut Vec<(String, Vec<u8>)>, name: &str) {
    files.retain(|(n, _)| n != name);
}

/// Opens, checks that exactly offsets `0..n` hold their payloads and that
/// appends continue at `n`, then that a clean reopen needs no repair.
fn expect_intact_prefix(storage: MemoryStorage, config: Config, n: u64) -> Vec<Repair> {
    let mut log = Log::open(storage.clone(), config).unwrap();
    let repairs = log.repairs().to_vec();
    let got = all(&log);
    assert_eq!(got.len() as u64, n, "repairs: {repairs:?}");
    for (offset, bytes) in got {
        assert_eq!(bytes, payload(offset));
    }
    assert_eq!(log.append(b"after").unwrap(), n);
    log.close().unwrap();
    let log = Log::open(storage, config).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(log.next_offset(), n + 1);
    repairs
}

#[test]
fn store_cut_at_every_byte_of_the_last_record() {
    let (files, active) = closed(small(), 20);
    let store_len = files
        .iter()
        .find(|(n, _)| *n == store(active))
        .unwrap()
        .1
        .len();
    let last_len = payload(19).len() + 24;
    for cut in sweep(store_len - last_len..store_len, 7, 0) {
        let mut trial = files.clone();
        set(&mut trial, &store(active), |b| b.truncate(cut));
        let repairs = expect_intact_prefix(load(&trial), small(), 19);
        let torn = cut > store_len - last_len;
        let cut_reported = repairs.iter().any(|r| matches!(r, Repair::TailCut { .. }));
        assert_eq!(cut_reported, torn, "cut at {cut}: {repairs:?}");
        assert!(repairs
            .iter()
            .any(|r| matches!(r, Repair::IndexRebuilt { .. })));
    }
}

#[test]
fn zeroed_or_corrupt_tail_of_the_active_segment_is_cut() {
    let (files, active) = closed(small(), 20);
    let last_len = payload(19).len() + 24;
    for damage in 0..3 {
        let mut trial = files.clone();
        set(&mut trial, &store(active), |b| {
            let start = b.len() - last_len;
            match damage {
                0 => b[start..].fill(0),
                1 => *b.last_mut().unwrap() ^= 1,
                _ => b.extend_from_slice(&[0; 100]),
            }
        });
        let repairs =
            expect_intact_prefix(load(&trial), small(), if damage == 2 { 20 } else { 19 });
        assert!(
            repairs.iter().any(|r| matches!(r, Repair::TailCut { .. })),
            "{repairs:?}"
        );
    }
}

#[test]
fn corrupt_record_inside_the_log_is_reported_never_returned() {
    let (files, active) = closed(small(), 40);
    // One record in the middle of the active segment, one at the end of the
    // first (sealed) segment.
    let log = Log::open(load(&files), small()).unwrap();
    let first = log.segments().unwrap().into_iter().next().unwrap();
    let sealed_last = first.base + first.records - 1;
    let middle = active + 1;
    drop(log);
    let mut trial = files.clone();
    set(&mut trial, &store(0), |b| *b.last_mut().unwrap() ^= 0x40);
    set(&mut trial, &store(active), |b| {
        let pos = HEADER_LEN as usize + payload(active).len() + 24 + 24;
        b[pos] ^= 0x01;
    });
    let log = Log::open(load(&trial), small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(log.next_offset(), 40, "nothing is cut");
    for offset in 0..40 {
        match log.read(offset) {
            Ok(r) => assert_eq!(r.payload.as_ref(), payload(offset)),
            Err(e) => {
                assert!(
                    offset == middle || offset == sealed_last,
                    "offset {offset}: {e}"
                );
                assert!(
                    matches!(e, Error::Corrupt { offset: Some(o), .. } if o == offset),
                    "{e}"
                );
            }
        }
    }
    for offset in [middle, sealed_last] {
        assert_eq!(log.read(offset).unwrap_err().code(), ErrorCode::Corrupt);
    }
    // A multi-get returns for each offset what a read returns: the corrupt
    // records as errors, in the order asked, across groups, repeats and
    // offsets out of range.
    let asked: Vec<u64> = (0..45).rev().chain([middle, 3, middle, 0]).collect();
    let mut got = Vec::new();
    log.read_many(&asked, |offset, r| {
        got.push((
            offset,
            r.map(|r| r.payload.into_owned()).map_err(|e| e.code()),
        ));
    });
    let want: Vec<_> = asked
        .iter()
        .map(|&o| {
            (
                o,
                log.read(o)
                    .map(|r| r.payload.into_owned())
                    .map_err(|e| e.code()),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.iter().filter(|(_, r)| r.is_err()).count(), 5 + 2 + 2);
    // Lists shorter than the pipeline's depth, and of every length around
    // it, give the same prefix.
    for len in [0, 1, 2, 7, 8, 9, 15, 16, 17, 33] {
        let mut short = Vec::new();
        log.read_many(&asked[..len], |offset, r| {
            short.push((
                offset,
                r.map(|r| r.payload.into_owned()).map_err(|e| e.code()),
            ));
        });
        assert_eq!(short, want[..len], "{len}");
    }
    let problems = log.verify(100);
    assert_eq!(problems.len(), 2, "{problems:?}");
    let mut iter_errors = log.records().filter(|r| r.is_err()).count();
    iter_errors += log
        .iter(sealed_last + 1)
        .unwrap()
        .filter(|r| r.is_err())
        .count();
    assert_eq!(iter_errors, 2, "the iterator stops at each corrupt record");
}

#[test]
fn missing_short_or_garbage_index_is_rebuilt() {
    let (files, active) = closed(small(), 20);
    let mut trial = files.clone();
    remove(&mut trial, &index(active));
    remove(&mut trial, &index(0));
    let repairs = expect_intact_prefix(load(&trial), small(), 20);
    assert_eq!(repairs.len(), 2, "{repairs:?}");

    let index_len = files
        .iter()
        .find(|(n, _)| *n == index(active))
        .unwrap()
        .1
        .len();
    for cut in sweep(0..index_len, 17, 0) {
        let mut trial = files.clone();
        set(&mut trial, &index(active), |b| b.truncate(cut));
        expect_intact_prefix(load(&trial), small(), 20);
    }
    let mut trial = files.clone();
    set(&mut trial, &index(active), |b| {
        b.extend_from_slice(&[0xab; 40])
    });
    expect_intact_prefix(load(&trial), small(), 20);
    let mut trial = files.clone();
    set(&mut trial, &index(active), |b| {
        let last = b.len() - 16;
        b[last] ^= 0xff;
    });
    expect_intact_prefix(load(&trial), small(), 20);
}

/// A middle index entry pointing elsewhere (what a crash tearing an unsynced
/// index page leaves, past the fast check): `read` finds the record through
/// the store, as iteration does, and `verify` reports the entry, once, as
/// a damaged entry of an intact record.
#[test]
fn flipped_middle_index_entry_reads_through_the_store_and_is_reported() {
    let (mut files, _) = closed(small(), 20);
    set(&mut files, &index(0), |b| b[24 + 16 + 2] ^= 0xff);
    let log = Log::open(load(&files), small()).unwrap();
    for offset in 0..20 {
        let r = log.read(offset).unwrap();
        assert_eq!(r.payload.as_ref(), payload(offset));
    }
    assert_eq!(log.iter(1).unwrap().next().unwrap().unwrap().offset, 1);
    let problems = log.verify(10);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code(), ErrorCode::Corrupt);
    let message = problems[0].to_string();
    assert!(message.contains("record is intact"), "{message}");
    assert!(message.contains("offset 1"), "{message}");
}

/// `repair_indexes` rewrites the index of a segment whose middle entry is
/// damaged over intact records, back to what it was, and durably; the
/// reopened log verifies clean.
#[test]
fn a_damaged_middle_index_entry_is_rewritten_by_repair_indexes() {
    let (files, _) = closed(small(), 20);
    let mut damaged = files.clone();
    set(&mut damaged, &index(0), |b| b[24 + 16 + 2] ^= 0xff);
    let storage = load(&damaged);
    let mut log = Log::open(storage.clone(), small()).unwrap();
    assert_eq!(log.verify(10).len(), 1);
    let repairs = log.repair_indexes().unwrap();
    assert!(
        matches!(
            repairs.as_slice(),
            [Repair::IndexRebuilt { segment: 0, .. }]
        ),
        "{repairs:?}"
    );
    assert!(log.verify(10).is_empty(), "{:?}", log.verify(10));
    // Nothing left to repair; the records are all there.
    assert!(log.repair_indexes().unwrap().is_empty());
    assert_eq!(all(&log).len(), 20);
    log.close().unwrap();
    assert_eq!(image(&storage), files);
}

/// A segment with a corrupt record is not repair_indexes' to change, even
/// when one of its index entries is damaged too: nothing is cut or
/// rewritten, and the read of that record still reports it.
#[test]
fn repair_indexes_leaves_a_segment_with_a_corrupt_record_as_it_is() {
    let (mut files, _) = closed(small(), 20);
    set(&mut files, &index(0), |b| b[24 + 16 + 2] ^= 0xff);
    // The last byte of the first record's payload.
    let last_payload_byte = 24 + 24 + payload(0).len() - 1;
    set(&mut files, &store(0), |b| b[last_payload_byte] ^= 0x01);
    let storage = load(&files);
    let mut log = Log::open(storage.clone(), small()).unwrap();
    assert!(log.repair_indexes().unwrap().is_empty());
    assert_eq!(log.read(0).unwrap_err().code(), ErrorCode::Corrupt);
    log.close().unwrap();
    assert_eq!(image(&storage), files);
}

#[test]
fn preallocated_zero_tail_is_trimmed_without_a_scan() {
    let (mut files, active) = closed(small(), 20);
    set(&mut files, &index(active), |b| {
        b.extend_from_slice(&[0; 16 * 50])
    });
    set(&mut files, &index(0), |b| {
        b.extend_from_slice(&[0; 16 * 3 + 5])
    });
    let storage = load(&files);
    let log = Log::open(storage.clone(), small()).unwrap();
    assert!(log.repairs().is_empty(), "no rebuild: {:?}", log.repairs());
    assert_eq!(all(&log).len(), 20);
    drop(log);
    let trimmed = storage.file_bytes(&index(active)).unwrap().len() as u64;
    assert_eq!((trimmed - HEADER_LEN) % 16, 0);
    assert!(trimmed < 24 + 16 * 10);
}

#[test]
fn index_longer_than_the_store_is_cut_back() {
    let (files, active) = closed(small(), 20);
    let mut trial = files.clone();
    let last_len = payload(19).len() + 24 + payload(18).len() + 24;
    set(&mut trial, &store(active), |b| {
        b.truncate(b.len() - last_len)
    });
    expect_intact_prefix(load(&trial), small(), 18);
}

#[test]
fn segment_after_a_gap_is_dropped() {
    let (files, active) = closed(small(), 40);
    let log = Log::open(load(&files), small()).unwrap();
    let bases: Vec<u64> = log
        .segments()
        .unwrap()
        .into_iter()
        .map(|s| s.base)
        .collect();
    drop(log);
    assert!(bases.len() >= 4);
    // The second segment lost its last record, as a crash without sync may
    // leave it: everything after it must go.
    let second = bases[1];
    let cut = payload(bases[2] - 1).len() + 24;
    let mut trial = files.clone();
    set(&mut trial, &store(second), |b| b.truncate(b.len() - cut));
    let storage = load(&trial);
    let repairs = expect_intact_prefix(storage.clone(), small(), bases[2] - 1);
    let dropped = repairs
        .iter()
        .filter(|r| matches!(r, Repair::SegmentDropped { .. }))
        .count();
    assert_eq!(dropped, bases.len() - 2, "{repairs:?}");
    assert!(!names(&storage).contains(&store(active)));
}

#[test]
fn lone_index_is_removed_and_unwritten_store_header_is_an_empty_segment() {
    let (mut files, active) = closed(small(), 5);
    files.push((index(999), vec![1, 2, 3]));
    let storage = load(&files);
    let log = Log::open(storage.clone(), small()).unwrap();
    assert_eq!(log.repairs(), [Repair::OrphanIndexRemoved { segment: 999 }]);
    drop(log);
    assert!(!names(&storage).contains(&index(999)));

    let (mut files, _) = closed(small(), 0);
    set(&mut files, &store(0), |b| b.truncate(10));
    let mut log = Log::open(load(&files), small()).unwrap();
    assert_eq!(log.append(b"x").unwrap(), 0);
    let _ = active;
}

/// The bases of a closed log's segments.
fn bases(files: &[(String, Vec<u8>)]) -> Vec<u64> {
    let mut bases: Vec<u64> = files
        .iter()
        .filter_map(|(n, _)| n.strip_suffix(".store")?.parse().ok())
        .collect();
    bases.sort_unstable();
    bases
}

#[test]
fn an_unwritten_header_over_records_is_damage_reported_and_left_alone() {
    let (files, active) = closed(small(), 40);
    let bases = bases(&files);
    assert!(bases.len() >= 4, "{bases:?}");
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 3] = [
        ("zeroed", |b| b[..HEADER_LEN as usize].fill(0)),
        ("torn", |b| b[4..20].fill(0)),
        ("cut short", |b| b.truncate(10)),
    ];
    for &base in [bases[0], bases[1], active].iter() {
        for (how, damage) in &damages {
            if *how == "cut short" && base == active {
                // A short active store holds no record: it is the creation
                // a crash cut short, below.
                continue;
            }
            let mut trial = files.clone();
            set(&mut trial, &store(base), damage);
            let storage = load(&trial);
            let err = Log::open(storage.clone(), small()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Format, "{how} {base}: {err}");
            assert!(err.to_string().contains(&store(base)), "{err}");
            assert!(err.to_string().contains("damaged"), "{err}");
            // Nothing was emptied, cut or dropped: with the header put back,
            // every record is there.
            assert_eq!(image(&storage), trial, "{how} {base}");
            let repaired = load(&files);
            assert_eq!(all(&Log::open(repaired, small()).unwrap()).len(), 40);
        }
    }
    // An active store with no record behind its unwritten header was being
    // created: it opens empty, as before.
    let mut trial = files.clone();
    set(&mut trial, &store(active), |b| {
        b.truncate(HEADER_LEN as usize);
        b.fill(0);
    });
    expect_intact_prefix(load(&trial), small(), active);
}

#[test]
fn a_cut_marker_makes_an_unwritten_header_a_creation_cut_short() {
    // What a crash in a suffix cut below the lowest offset can leave: the
    // new segment (base 3) created, its header not yet on the media over
    // bytes that are not its own, in front of the old segments, whose
    // removal had not begun.
    let (files, _) = closed(small(), 40);
    let bases = bases(&files);
    let mut trial = files.clone();
    remove(&mut trial, &store(0));
    remove(&mut trial, &index(0));
    assert!(bases[1] > 3);
    let mut stale = files
        .iter()
        .find(|(n, _)| *n == store(0))
        .unwrap()
        .1
        .clone();
    stale[..HEADER_LEN as usize].fill(0);
    trial.push((store(3), stale));
    // Without the marker that is a damaged file.
    let err = Log::open(load(&trial), small()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Format, "{err}");
    // With it, the cut is finished: the log is empty at 3 and the marker
    // gone.
    let marker = "00000000000000000003.cut".to_string();
    trial.push((marker.clone(), Vec::new()));
    let storage = load(&trial);
    let mut log = Log::open(storage.clone(), small()).unwrap();
    let repairs = log.repairs().to_vec();
    assert_eq!((log.lowest_offset(), log.next_offset()), (None, 3));
    assert_eq!(log.append(b"after").unwrap(), 3);
    log.close().unwrap();
    let log = Log::open(storage.clone(), small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(all(&log), [(3, b"after".to_vec())]);
    let dropped = repairs
        .iter()
        .filter(|r| matches!(r, Repair::SegmentDropped { .. }))
        .count();
    assert_eq!(dropped, bases.len() - 1, "{repairs:?}");
    assert!(!names(&storage).contains(&marker));
    // A marker whose segment never got created leaves the log as it was.
    let mut trial = files;
    trial.push((marker.clone(), Vec::new()));
    let storage = load(&trial);
    expect_intact_prefix(storage.clone(), small(), 40);
    assert!(!names(&storage).contains(&marker));
}

#[test]
fn a_cut_below_the_lowest_offset_leaves_no_marker() {
    let (storage, mut log) = filled(small(), 40);
    log.truncate(20).unwrap();
    assert!(log.lowest_offset().unwrap() > 5);
    log.truncate_suffix(5).unwrap();
    assert_eq!((log.lowest_offset(), log.next_offset()), (None, 5));
    assert!(
        names(&storage).iter().all(|n| !n.ends_with(".cut")),
        "{:?}",
        names(&storage)
    );
    assert_eq!(log.append(b"x").unwrap(), 5);
}

#[test]
fn foreign_or_future_files_are_format_errors() {
    let (files, active) = closed(small(), 5);
    let mut trial = files.clone();
    set(&mut trial, &store(active), |b| {
        b[..8].copy_from_slice(b"SQLite f")
    });
    let err = Log::open(load(&trial), small()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Format);
    assert!(err.to_string().contains(&store(active)), "{err}");

    let mut trial = files.clone();
    set(&mut trial, &store(active), |b| b[8] = 3);
    let err = Log::open(load(&trial), small()).unwrap_err();
    assert!(err.to_string().contains("version 3"), "{err}");

    let mut trial = files;
    set(&mut trial, &store(active), |b| b[16] ^= 1);
    assert_eq!(
        Log::open(load(&trial), small()).unwrap_err().code(),
        ErrorCode::Format
    );
}

#[test]
fn every_single_byte_corruption_is_caught_or_harmless() {
    // Flip each byte of every file of a small log: open either fails with a
    // clear error or succeeds, and then every read returns the right bytes
    // or an error, never wrong bytes.
    let (files, _) = closed(tiny(), 9);
    for (f, (name, bytes)) in files.iter().enumerate() {
        for byte in sweep(0..bytes.len(), 29, f) {
            let mut trial = files.clone();
            trial[f].1[byte] ^= 0x5a;
            let Ok(log) = Log::open(load(&trial), tiny()) else {
                continue;
            };
            for offset in 0..log.next_offset() {
                if let Ok(r) = log.read(offset) {
                    assert_eq!(r.payload.as_ref(), payload(offset), "{name} byte {byte}");
                }
            }
        }
    }
}

/// A memory storage whose files hold every write as it was made, synced or
/// not, as a writer's files do after it crashed in the running boot.
#[derive(Clone, Debug, Default)]
struct Kept(MemoryStorage);

impl dislog_core::Storage for Kept {
    type File = <MemoryStorage as dislog_core::Storage>::File;
    fn list(&self) -> Result<Vec<String>, dislog_core::StorageError> {
        self.0.list()
    }
    fn open(
        &self,
        name: &str,
        hint: dislog_core::FileHint,
    ) -> Result<Self::File, dislog_core::StorageError> {
        self.0.open(name, hint)
    }
    fn create(
        &self,
        name: &str,
        hint: dislog_core::FileHint,
    ) -> Result<Self::File, dislog_core::StorageError> {
        self.0.create(name, hint)
    }
    fn remove(&self, name: &str) -> Result<(), dislog_core::StorageError> {
        self.0.remove(name)
    }
    fn sync_dir(&self) -> Result<(), dislog_core::StorageError> {
        self.0.sync_dir()
    }
    fn unsynced_writes_kept(&self) -> bool {
        true
    }
}

/// One segment of 40 records: the active one.
fn one_segment() -> Config {
    Config {
        max_store_bytes: 24 + 40 * 64,
        max_index_bytes: 24 + 16 * 40,
        ..tiny()
    }
}

/// The store position of record `i` of the segment at 0.
fn position(storage: &MemoryStorage, i: u64) -> usize {
    let entries = storage.file_bytes(&index(0)).unwrap();
    let at = 24 + 16 * i as usize;
    u64::from_le_bytes(entries[at..at + 8].try_into().unwrap()) as usize
}

/// Each record of `log` from its first offset on: payload, or error code.
fn outcomes<S: dislog_core::Storage>(log: &Log<S>) -> Vec<Result<Vec<u8>, ErrorCode>> {
    (0..log.next_offset())
        .map(|o| {
            log.read(o)
                .map(|r| r.payload.into_owned())
                .map_err(|e| e.code())
        })
        .collect()
}

#[test]
fn kept_writes_are_trusted_up_to_the_last_entry_that_checks() {
    let (storage, log) = filled(one_segment(), 40);
    log.close().unwrap();
    // Record 10 is corrupt, and the index lost its entries from 25 on.
    let mut bytes = storage.file_bytes(&store(0)).unwrap();
    bytes[position(&storage, 10) + 24] ^= 1;
    storage.set_file_bytes(&store(0), bytes).unwrap();
    let mut entries = storage.file_bytes(&index(0)).unwrap();
    entries.truncate(24 + 16 * 25);
    storage.set_file_bytes(&index(0), entries).unwrap();
    let files = image(&storage);

    // Kept writes: entries 0..25 stand, the scan starts after record 24.
    let log = Log::open(Kept(load(&files)), one_segment()).unwrap();
    assert_eq!(
        log.repairs(),
        [Repair::IndexRebuilt {
            segment: 0,
            records: 40
        }]
    );
    let read = outcomes(&log);
    assert_eq!(read.len(), 40);
    for (i, outcome) in (0..).zip(&read) {
        match i {
            10 => assert_eq!(outcome, &Err(ErrorCode::Corrupt)),
            _ => assert_eq!(outcome, &Ok(payload(i))),
        }
    }
    // Otherwise the whole store is scanned, and cut at the corrupt record.
    let log = Log::open(load(&files), one_segment()).unwrap();
    assert_eq!(
        all(&log),
        (0..10).map(|i| (i, payload(i))).collect::<Vec<_>>()
    );
}

#[test]
fn kept_writes_recover_what_a_full_scan_recovers_from_any_cut() {
    let (storage, log) = filled(one_segment(), 40);
    log.close().unwrap();
    let files = image(&storage);
    let store_bytes = storage.file_bytes(&store(0)).unwrap();
    let index_bytes = storage.file_bytes(&index(0)).unwrap();
    // Every 11th store length and every 16th index length (all 16 phases
    // of an entry across the store lengths), each end included; far fewer
    // under miri.
    let (store_step, index_step) = if cfg!(miri) { (331, 173) } else { (11, 16) };
    let every = |len: usize, step: usize, phase: usize| {
        (0..=len).filter(move |&p| p % step == phase % step || p == len)
    };
    for store_cut in every(store_bytes.len(), store_step, 0) {
        for index_cut in every(index_bytes.len(), index_step, store_cut) {
            let cut = |kept: bool| {
                let storage = load(&files);
                storage
                    .set_file_bytes(&store(0), store_bytes[..store_cut].to_vec())
                    .unwrap();
                storage
                    .set_file_bytes(&index(0), index_bytes[..index_cut].to_vec())
                    .unwrap();
                match kept {
                    true => outcomes(&Log::open(Kept(storage), one_segment()).unwrap()),
                    false => outcomes(&Log::open(storage, one_segment()).unwrap()),
                }
            };
            let full = cut(false);
            assert!(full.iter().all(Result::is_ok));
            assert_eq!(
                cut(true),
                full,
                "store cut {store_cut}, index cut {index_cut}"
            );
        }
    }
}

/// Records long enough for the checksum's long-input path (256 bytes and
/// more, `crc-fast` with `std` on x86-64) and around its threshold: each
/// reads back after a reopen, batched or not, and a flipped payload byte
/// in any of them (its first, a middle and its last) is reported as
/// corruption of that record alone.
#[test]
fn a_flipped_byte_in_a_long_record_is_reported() {
    let config = Config {
        max_store_bytes: 1 << 20,
        max_index_bytes: 24 + 16 * 64,
        max_record_bytes: 1 << 16,
        ..tiny()
    };
    let sizes = [255usize, 256, 257, 1000, 4096, 5003];
    let body = |i: usize, len: usize| -> Vec<u8> {
        (0..len).map(|j| (j * 31 + i * 7 + j / 251) as u8).collect()
    };
    let storage = MemoryStorage::new();
    let mut log = Log::open(storage.clone(), config).unwrap();
    let mut positions = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        positions.push(
            log.segments()
                .unwrap()
                .into_iter()
                .last()
                .map_or(0, |s| s.store_bytes),
        );
        log.append(&body(i, len)).unwrap();
    }
    let batch: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &l)| body(i + 10, l))
        .collect();
    log.append_batch(&batch).unwrap();
    log.close().unwrap();
    let files = image(&storage);
    let log = Log::open(load(&files), config).unwrap();
    for (i, &len) in sizes.iter().enumerate() {
        assert_eq!(log.read(i as u64).unwrap().payload.as_ref(), body(i, len));
        let j = (sizes.len() + i) as u64;
        assert_eq!(log.read(j).unwrap().payload.as_ref(), body(i + 10, len));
    }
    drop(log);
    for (i, &len) in sizes.iter().enumerate() {
        // Under miri (software CRC, about a thousand times slower): the
        // middle byte only.
        let flips = if cfg!(miri) {
            vec![len / 2]
        } else {
            vec![0, len / 2, len - 1]
        };
        for at in flips {
            let mut trial = files.clone();
            set(&mut trial, &store(0), |b| {
                b[positions[i] as usize + 24 + at] ^= 0x10;
            });
            let log = Log::open(load(&trial), config).unwrap();
            for offset in 0..2 * sizes.len() as u64 {
                let read = log.read(offset);
                if offset == i as u64 {
                    let e = read.unwrap_err();
                    assert!(
                        matches!(e, Error::Corrupt { offset: Some(o), .. } if o == offset),
                        "len {len} byte {at}: {e}"
                    );
                } else {
                    assert!(read.is_ok(), "offset {offset} beside a flip in {i}");
                }
            }
        }
    }
}
