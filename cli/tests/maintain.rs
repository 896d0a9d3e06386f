//! `dislog truncate`, `retain`, `snapshot` and `restore`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, lines, ok, ok_with, run, run_with, s, stores};

fn stat(log: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&ok(&["stat", s(log), "--json"])).unwrap()
}

fn small_segments(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(
        &["append", s(&log), "--max-store-bytes", "1KiB"],
        lines("r", n).as_bytes(),
    );
    (dir, log)
}

#[test]
fn truncate_before_removes_whole_segments() {
    let (_dir, log) = small_segments(100);
    let before = stores(&log).len();
    let out = ok(&["truncate", s(&log), "--before", "50"]);
    assert!(out.starts_with("removed "), "{out}");
    let after = stat(&log);
    let lowest = after["lowest_offset"].as_u64().unwrap();
    assert!(lowest > 0 && lowest <= 50, "{after}");
    assert!(stores(&log).len() < before);
    assert_eq!(after["highest_offset"], 99);
    assert_eq!(ok(&["read", s(&log), "-n", "1"]), format!("r{lowest}\n"));
    // Everything below: the log empties and keeps its next offset.
    ok(&["truncate", s(&log), "--before", "1000"]);
    let empty = stat(&log);
    assert_eq!(empty["records"], 0);
    assert_eq!(empty["next_offset"], 100);
}

#[test]
fn truncate_from_cuts_the_suffix() {
    let (_dir, log) = small_segments(100);
    let out = ok(&["truncate", s(&log), "--from", "40"]);
    assert!(out.starts_with("removed 60 records;"), "{out}");
    let after = stat(&log);
    assert_eq!(after["highest_offset"], 39);
    assert_eq!(after["next_offset"], 40);
    let appended = ok_with(&["append", s(&log)], b"again\n");
    assert!(appended.contains("offsets 40 to 40"), "{appended}");
    assert_eq!(ok(&["tail", s(&log), "-n", "2"]), "r39\nagain\n");
}

#[test]
fn truncate_needs_one_of_its_options() {
    let (_dir, log) = small_segments(10);
    assert_error(&run(&["truncate", s(&log)]), 2, &[]);
    assert_error(
        &run(&["truncate", s(&log), "--before", "1", "--from", "2"]),
        2,
        &["cannot be used with"],
    );
}

#[test]
fn retain_by_size() {
    let (_dir, log) = small_segments(200);
    let out = ok(&["retain", s(&log), "--max-bytes", "3KiB"]);
    assert!(out.starts_with("removed "), "{out}");
    let after = stat(&log);
    assert!(after["size_bytes"].as_u64().unwrap() <= 3 * 1024, "{after}");
    assert!(after["lowest_offset"].as_u64().unwrap() > 0);
    assert_eq!(after["highest_offset"], 199);
}

#[test]
fn retain_by_age() {
    let (_dir, log) = small_segments(100);
    // Nothing is a day old.
    let none = ok(&["retain", s(&log), "--max-age", "1d"]);
    assert!(none.starts_with("removed 0 segments"), "{none}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    ok_with(&["append", s(&log)], b"fresh\n");
    ok(&["retain", s(&log), "--max-age", "200ms"]);
    // Only the active segment (holding the fresh record) remains.
    let after = stat(&log);
    assert_eq!(after["segments"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(ok(&["tail", s(&log), "-n", "1"]), "fresh\n");
    assert_error(
        &run(&["retain", s(&log), "--max-age", "soon"]),
        2,
        &["not a duration"],
    );
}

#[test]
fn snapshot_and_restore_round_trip() {
    let (dir, log) = small_segments(100);
    let file = dir.path().join("snap.dslg");
    let out = ok(&["snapshot", s(&log), s(&file)]);
    assert!(out.contains("snapshot of 100 records"), "{out}");
    let copy = dir.path().join("copy");
    let out = ok(&["restore", s(&file), s(&copy)]);
    assert!(
        out.contains("restored 100 records (offsets 0 to 99)"),
        "{out}"
    );
    assert_eq!(ok(&["read", s(&copy)]), ok(&["read", s(&log)]));
    // Through stdout and stdin.
    let piped = common::run(&["snapshot", s(&log), "-"]);
    assert!(piped.status.success());
    let third = dir.path().join("third");
    ok_with(&["restore", "-", s(&third)], &piped.stdout);
    assert_eq!(ok(&["read", s(&third)]).lines().count(), 100);
    // Never over an existing log, and never from garbage.
    assert_error(
        &run(&["restore", s(&file), s(&copy)]),
        1,
        &["already holds a log"],
    );
    let fourth = dir.path().join("fourth");
    assert_error(
        &run_with(&["restore", "-", s(&fourth)], b"not a snapshot"),
        1,
        &["snapshot"],
    );
}
