//! Records whose buffers are being written by the write-behind thread: read
//! back, cut by a suffix truncation, synced, dropped and reopened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dislog::{Config, Log};

/// 1,000 bytes that only offset `o` has.
fn payload(o: u64) -> Vec<u8> {
    (0..1000u64)
        .map(|i| (o.wrapping_mul(31) ^ i) as u8)
        .collect()
}

/// 2 MiB stores: a buffer of 256 KiB is handed over every 262 records, and
/// a store rolls every 2,000 or so.
fn config() -> Config {
    Config {
        max_store_bytes: 2 << 20,
        ..Config::default()
    }
}

fn check(log: &Log, from: u64, to: u64) {
    for o in from..to {
        let record = log.read(o).unwrap();
        assert_eq!(record.payload.as_ref(), payload(o).as_slice(), "offset {o}");
    }
}

#[test]
fn records_in_flight_read_back_and_survive_cuts_syncs_and_reopens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = Log::open(&dir, config()).unwrap();
    let mut next = 0;
    for round in 0..12u64 {
        for _ in 0..700 {
            assert_eq!(log.append(&payload(next)).unwrap(), next);
            next += 1;
            // The newest records, and those a buffer or two back: in the
            // buffer, in flight, or just written.
            for back in [0, 200, 300, 600] {
                if let Some(o) = next.checked_sub(back + 1) {
                    let record = log.read(o).unwrap();
                    assert_eq!(record.payload.as_ref(), payload(o).as_slice());
                }
            }
        }
        // Cut back into the buffer, the flight or the bytes on disk.
        let cut = next - [5, 280, 540][(round % 3) as usize];
        log.truncate_suffix(cut).unwrap();
        next = cut;
        assert_eq!(log.next_offset(), next);
        assert!(log.read(next).is_err());
        if round % 4 == 3 {
            log.sync().unwrap();
        }
    }
    assert!(log.segment_count() > 2, "{} segments", log.segment_count());
    check(&log, 0, next);
    // Dropped, not closed: every buffer, in flight or not, is written.
    drop(log);
    let log = Log::open(&dir, config()).unwrap();
    assert_eq!(log.next_offset(), next);
    check(&log, 0, next);
    assert_eq!(log.append(&payload(next)).unwrap(), next);
    log.close().unwrap();
    let log = Log::open(&dir, config()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check(&log, 0, next + 1);
}

#[test]
fn logs_opened_one_after_another_and_side_by_side_keep_their_records() {
    let tmp = tempfile::tempdir().unwrap();
    // Side by side: each log's buffers go to its own thread; one after
    // another: threads given back are taken again.
    for generation in 0..3u64 {
        let logs: Vec<Log> = (0..6)
            .map(|i| Log::open(tmp.path().join(format!("{generation}-{i}")), config()).unwrap())
            .collect();
        for o in 0..1500 {
            for log in &logs {
                assert_eq!(log.append(&payload(o + generation)).unwrap(), o);
            }
        }
        for log in logs {
            for o in (0..1500).step_by(97) {
                let record = log.read(o).unwrap();
                assert_eq!(record.payload.as_ref(), payload(o + generation).as_slice());
            }
            log.close().unwrap();
        }
    }
    for generation in 0..3u64 {
        for i in 0..6 {
            let log = Log::open(tmp.path().join(format!("{generation}-{i}")), config()).unwrap();
            assert_eq!(log.next_offset(), 1500);
            let last = log.read(1499).unwrap();
            assert_eq!(last.payload.as_ref(), payload(1499 + generation).as_slice());
        }
    }
}

/// A roll leaves the new store's header sync and the sealed files' cuts to
/// the write-behind thread: after a flush, every sealed index holds exactly
/// its entries and every sealed store its frames; a read-only open then
/// sees every record and repairs nothing; a cut back into a sealed segment
/// and more appends (which wait for its cut) reopen without a repair.
#[test]
fn rolls_leave_sealed_files_cut_to_their_content_once_flushed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = Log::open(&dir, config()).unwrap();
    let mut next = 0;
    while log.segment_count() < 6 {
        assert_eq!(log.append(&payload(next)).unwrap(), next);
        next += 1;
    }
    log.flush().unwrap();
    let segments = log.segments().unwrap();
    for sealed in &segments[..segments.len() - 1] {
        let len = |ext: &str| {
            std::fs::metadata(dir.join(format!("{:020}.{ext}", sealed.base)))
                .unwrap()
                .len()
        };
        assert_eq!(len("index"), 24 + 16 * sealed.records, "{sealed:?}");
        // Frames of 1,024 bytes (24 of header, 1,000 of payload).
        assert_eq!(len("store"), 24 + 1024 * sealed.records, "{sealed:?}");
    }
    let reader = Log::open_read_only(&dir, config()).unwrap();
    assert!(reader.repairs().is_empty(), "{:?}", reader.repairs());
    check(&reader, 0, next);
    drop(reader);
    // Into the second segment, sealed: it is the active one again.
    let cut = segments[1].base + 100;
    log.truncate_suffix(cut).unwrap();
    for o in cut..cut + 3000 {
        assert_eq!(log.append(&payload(o)).unwrap(), o);
    }
    check(&log, 0, cut + 3000);
    log.close().unwrap();
    let log = Log::open(&dir, config()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check(&log, 0, cut + 3000);
    log.close().unwrap();
}
