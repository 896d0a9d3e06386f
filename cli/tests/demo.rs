//! `dislog demo` (a small run; the step script runs the full one in release).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, ok, run, s};

fn check_output(out: &str, records: &str) {
    assert!(out.contains(&format!("append  {records} in")), "{out}");
    assert!(out.contains(&format!("read    {records} in")), "{out}");
    assert!(out.contains("records/s"), "{out}");
    assert!(out.contains("segment (base)"), "{out}");
    assert!(
        out.contains("cut 7 bytes") || out.contains("of torn or corrupt tail"),
        "{out}"
    );
    assert!(out.contains("synced records read back intact"), "{out}");
    assert!(out.contains("verify: no problems"), "{out}");
}

#[test]
fn demo_in_a_given_directory_keeps_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo");
    let out = ok(&["demo", s(&log), "--records", "20000"]);
    check_output(&out, "20,000 records");
    // The demo's log is a real, intact log: 20,000 + 1,000 synced
    // + 499 surviving unsynced + 1 appended after the crash.
    let stat: serde_json::Value = serde_json::from_str(&ok(&["stat", s(&log), "--json"])).unwrap();
    assert_eq!(stat["records"], 21_500);
    assert!(ok(&["verify", s(&log)]).starts_with("ok: 21,500 records"));
    // Not over an existing log.
    assert_error(&run(&["demo", s(&log)]), 2, &["not empty"]);
}

#[test]
fn demo_in_a_temporary_directory_cleans_up() {
    let out = ok(&["demo", "--records", "5000", "--payload-bytes", "32"]);
    check_output(&out, "5,000 records");
    let first = out.lines().next().unwrap();
    let path = first
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" (removed at the end)"))
        .unwrap();
    assert!(!std::path::Path::new(path).exists(), "{path} left behind");
}

#[test]
fn demo_of_one_record_says_record() {
    let out = ok(&["demo", "--records", "1"]);
    check_output(&out, "1 record");
    assert!(
        out.starts_with("dislog demo: 1 record of 100 bytes in "),
        "{out}"
    );
    // " 1 records", not "1 records": a rate such as "896.71 records/s" has that.
    assert!(
        !out.contains(" 1 records") && !out.contains("(1 records"),
        "{out}"
    );
}
