//! `dislog stat` and `dislog verify`, including planted corruption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use common::{assert_error, lines, ok, ok_with, run, s, stores};

/// A log of `n` records `r0`.. in segments of at most 1 KiB of store.
fn small_segments(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(
        &["append", s(&log), "--max-store-bytes", "1KiB"],
        lines("r", n).as_bytes(),
    );
    (dir, log)
}

fn flip_byte(file: &Path, at: u64) {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .unwrap();
    let mut byte = [0u8];
    f.seek(SeekFrom::Start(at)).unwrap();
    f.read_exact(&mut byte).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[byte[0] ^ 0x5a]).unwrap();
}

/// File header (24 bytes) + frame header (24 bytes): the first payload byte.
const FIRST_PAYLOAD: u64 = 48;

#[test]
fn stat_text_and_json() {
    let (_dir, log) = small_segments(100);
    let json: serde_json::Value = serde_json::from_str(&ok(&["stat", s(&log), "--json"])).unwrap();
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["records"], 100);
    assert_eq!(json["lowest_offset"], 0);
    assert_eq!(json["highest_offset"], 99);
    assert_eq!(json["next_offset"], 100);
    let segments = json["segments"].as_array().unwrap();
    assert_eq!(segments.len(), stores(&log).len());
    assert!(segments.len() > 2);
    let total: u64 = segments
        .iter()
        .map(|s| s["records"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 100);
    let mut next = 0;
    for segment in segments {
        assert_eq!(segment["base"], next);
        next += segment["records"].as_u64().unwrap();
        assert!(segment["store_bytes"].as_u64().unwrap() <= 1024);
        assert!(
            segment["first_timestamp"].as_u64().unwrap()
                <= segment["max_timestamp"].as_u64().unwrap()
        );
    }
    assert_eq!(
        json["size_bytes"].as_u64().unwrap(),
        json["store_bytes"].as_u64().unwrap() + json["index_bytes"].as_u64().unwrap()
    );
    let text = ok(&["stat", s(&log)]);
    assert!(text.contains("format         version 2"), "{text}");
    assert!(
        text.contains("records        100 (offsets 0 to 99, next 100)"),
        "{text}"
    );
    assert!(text.contains("segment (base)"), "{text}");
    assert!(text.contains("time range"), "{text}");
}

#[test]
fn stat_of_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], b"");
    let json: serde_json::Value = serde_json::from_str(&ok(&["stat", s(&log), "--json"])).unwrap();
    assert_eq!(json["records"], 0);
    assert!(json["lowest_offset"].is_null());
    assert!(ok(&["stat", s(&log)]).contains("empty, next offset 0"));
}

#[test]
fn verify_passes_on_an_intact_log() {
    let (_dir, log) = small_segments(100);
    let out = ok(&["verify", s(&log)]);
    assert!(out.starts_with("ok: 100 records in "), "{out}");
}

#[test]
fn verify_finds_a_flipped_payload_byte_in_a_sealed_segment() {
    let (_dir, log) = small_segments(100);
    let second = &stores(&log)[1];
    let base: u64 = second
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    flip_byte(second, FIRST_PAYLOAD);
    let out = run(&["verify", s(&log)]);
    assert_error(&out, 3, &["1 problem found"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!("problem: segment {base}, offset {base}: ")),
        "{stdout}"
    );
    // Reading stops at the corrupt record with the same exit code.
    let read = run(&["read", s(&log)]);
    assert_error(&read, 3, &[&format!("corrupt record at offset {base}")]);
    assert_eq!(
        String::from_utf8(read.stdout).unwrap().lines().count() as u64,
        base
    );
    // Recovery keeps corrupt records of sealed segments: --repair cannot fix it.
    let repair = run(&["verify", "--repair", s(&log)]);
    assert_error(&repair, 3, &["dislog truncate"]);
}

#[test]
fn verify_reports_and_repair_rewrites_a_damaged_middle_index_entry() {
    let (_dir, log) = small_segments(100);
    let index = stores(&log)[0].with_extension("index");
    let intact = std::fs::read(&index).unwrap();
    // Entry 1's position (file header 24 bytes, entries 16 bytes each).
    flip_byte(&index, 24 + 16 + 1);
    let out = run(&["verify", s(&log)]);
    assert_error(&out, 3, &["1 problem found"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("the entry is damaged"), "{stdout}");
    // Reads go around the entry through the store.
    assert_eq!(ok(&["read", s(&log)]).lines().count(), 100);
    let repaired = ok(&["verify", "--repair", s(&log)]);
    assert!(
        repaired.contains("repaired: segment 0: index rebuilt from the store"),
        "{repaired}"
    );
    assert_eq!(std::fs::read(&index).unwrap(), intact);
    let out = ok(&["verify", s(&log)]);
    assert!(out.starts_with("ok: 100 records in "), "{out}");
}

#[test]
fn verify_reports_and_repair_cuts_a_torn_tail() {
    let (_dir, log) = small_segments(100);
    let last = stores(&log).pop().unwrap();
    let base: u64 = last.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let out = run(&["verify", s(&log)]);
    assert_error(&out, 3, &["verify --repair"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!(
            "problem: segment {base}, offset 99: torn or corrupt data"
        )),
        "{stdout}"
    );
    // The read-only check changed nothing on disk.
    assert_eq!(std::fs::metadata(&last).unwrap().len(), len - 3);
    let repaired = ok(&["verify", "--repair", s(&log)]);
    assert!(
        repaired.contains(&format!("repaired: segment {base}: cut ")),
        "{repaired}"
    );
    assert!(repaired.contains("ok: 99 records"), "{repaired}");
    assert!(ok(&["verify", s(&log)]).starts_with("ok: 99 records"));
    let again = ok(&["verify", "--repair", s(&log)]);
    assert!(again.starts_with("nothing to repair"), "{again}");
    // Offsets continue after the last intact record.
    let appended = ok_with(&["append", s(&log)], b"new\n");
    assert!(appended.contains("offsets 99 to 99"), "{appended}");
}

#[test]
fn verify_finds_corruption_in_the_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], lines("r", 10).as_bytes());
    flip_byte(&stores(&log)[0], FIRST_PAYLOAD);
    let out = run(&["verify", s(&log)]);
    assert_error(&out, 3, &["found in"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("problem: segment 0, offset 0"), "{stdout}");
}

#[test]
fn verify_reports_a_foreign_store_header_as_a_problem_of_its_segment() {
    let (_dir, log) = small_segments(100);
    let second = stores(&log)[1].clone();
    let name = second.file_name().unwrap().to_str().unwrap().to_owned();
    let base: u64 = name.split('.').next().unwrap().parse().unwrap();
    assert!(base > 0);
    let mut bytes = std::fs::read(&second).unwrap();
    bytes[..8].copy_from_slice(b"NOTADSLG");
    std::fs::write(&second, bytes).unwrap();
    // The log cannot even be opened; verify still names the segment, with
    // or without --repair, and exits with the corruption code.
    for args in [vec!["verify", s(&log)], vec!["verify", "--repair", s(&log)]] {
        let out = run(&args);
        let line = assert_error(&out, 3, &["1 problem found in", "not a dislog store file"]);
        assert!(line.contains(&name), "{line}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            stdout.lines().collect::<Vec<_>>(),
            [format!("problem: segment {base}: {name}: not a dislog store file (magic [4e, 4f, 54, 41, 44, 53, 4c, 47])")],
            "{args:?}"
        );
    }
}

#[test]
fn verify_reports_a_zeroed_sealed_store_header_and_repair_keeps_every_file() {
    let (_dir, log) = small_segments(100);
    let first = stores(&log)[0].clone();
    let name = first.file_name().unwrap().to_str().unwrap().to_owned();
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[..24].fill(0);
    std::fs::write(&first, bytes).unwrap();
    let files = |dir: &std::path::Path| {
        let mut all: Vec<(std::ffi::OsString, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), std::fs::read(e.path()).unwrap())
            })
            // The lock file names the last writer.
            .filter(|(n, _)| n != "LOCK")
            .collect();
        all.sort();
        all
    };
    let before = files(std::path::Path::new(s(&log)));
    // Damage, not a creation cut short: the segment is named, and neither
    // it nor the segments after it are emptied or dropped.
    for args in [vec!["verify", s(&log)], vec!["verify", "--repair", s(&log)]] {
        let out = run(&args);
        let line = assert_error(
            &out,
            3,
            &["1 problem found in", "unwritten or torn", "damaged"],
        );
        assert!(line.contains(&name), "{line}");
    }
    assert_eq!(files(std::path::Path::new(s(&log))), before);
}
