//! Every error is one line on stderr with a non-zero exit code, never a
//! panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, ok, ok_with, run, run_with, s};

#[test]
fn missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for command in ["read", "tail", "stat", "verify"] {
        let out = run(&[command, s(&missing)]);
        assert_error(&out, 1, &["no log at", "does not exist"]);
    }
    for args in [
        vec!["truncate", s(&missing), "--before", "1"],
        vec!["retain", s(&missing), "--max-bytes", "1"],
        vec!["verify", "--repair", s(&missing)],
        vec!["snapshot", s(&missing), "x"],
    ] {
        assert_error(&run(&args), 1, &["does not exist"]);
    }
    // None of them created anything.
    assert!(!missing.exists());
}

#[test]
fn directory_without_a_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hi").unwrap();
    assert_error(
        &run(&["read", s(dir.path())]),
        1,
        &["holds no segment files"],
    );
}

#[test]
fn locked_log_refuses_writers_but_not_readers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let writer = dislog::Log::open(&log, dislog::Config::default()).unwrap();
    writer.append(b"held").unwrap();
    writer.flush().unwrap();
    for args in [
        vec!["truncate", s(&log), "--from", "0"],
        vec!["retain", s(&log), "--max-bytes", "0"],
        vec!["verify", "--repair", s(&log)],
    ] {
        assert_error(&run(&args), 1, &["locked"]);
    }
    assert_error(&run_with(&["append", s(&log)], b"x\n"), 1, &["locked"]);
    // Readers work beside the live writer.
    assert_eq!(ok(&["read", s(&log)]), "held\n");
    assert!(ok(&["stat", s(&log)]).contains("records        1"));
    writer.close().unwrap();
    ok_with(&["append", s(&log)], b"after\n");
    assert_eq!(ok(&["read", s(&log)]), "held\nafter\n");
}

#[test]
fn corrupt_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], b"a\nb\n");
    let store = common::stores(&log).pop().unwrap();
    // A foreign header: the file is ours by name but not by content.
    let mut bytes = std::fs::read(&store).unwrap();
    bytes[..8].copy_from_slice(b"NOTADSLG");
    std::fs::write(&store, bytes).unwrap();
    for command in ["read", "stat", "verify"] {
        assert_error(&run(&[command, s(&log)]), 3, &[]);
    }
    assert_error(&run_with(&["append", s(&log)], b"x\n"), 3, &[]);
}

#[test]
fn bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log = s(&log);
    // Without a subcommand the help goes to stderr, as git does.
    let bare = run(&[]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("Usage: dislog <COMMAND>"));
    for args in [
        vec!["frobnicate"],
        vec!["read"],
        vec!["read", log, "--from", "minus one"],
        vec!["read", log, "--since", "the day before"],
        vec!["read", log, "--hex", "--json"],
        vec!["append", log, "--sync", "sometimes"],
        vec!["append", log, "--delimiter", "ab"],
        vec!["append", log, "--framed", "--delimiter", ","],
        vec!["append", log, "--max-store-bytes", "lots"],
        vec!["retain", log],
        vec!["tail", log, "--interval", "often"],
        vec!["tail", log, "-f", "--interval", "0ms"],
        vec!["tail", log, "-f", "--interval", "9ms"],
        vec!["demo", "--payload-bytes", "1"],
    ] {
        let out = run(&args);
        let line = assert_error(&out, 2, &["dislog --help"]);
        assert!(!line.contains("Usage"), "{line}");
    }
    // A zero poll interval would make `tail -f` spin: refused, and the
    // line says what is accepted; the floor itself is fine.
    let out = run(&["tail", log, "-f", "--interval", "0ms"]);
    assert_error(&out, 2, &["'0ms'", "--interval", "at least 10ms"]);
    ok_with(&["append", log], b"x\n");
    assert_eq!(ok(&["tail", log, "--interval", "10ms"]), "x\n");
    // A config the log refuses is reported the same way (not via clap).
    let out = run_with(&["append", log, "--max-store-bytes", "10"], b"x\n");
    assert_error(&out, 1, &["max_store_bytes"]);
}

#[test]
fn help_and_version_succeed() {
    let help = ok(&["--help"]);
    for command in [
        "append", "read", "tail", "stat", "verify", "truncate", "retain", "snapshot", "restore",
        "demo",
    ] {
        assert!(help.contains(command), "{command} missing from --help");
    }
    assert!(ok(&["--version"]).starts_with("dislog "));
    assert!(ok(&["read", "--help"]).contains("--since"));
}

#[test]
fn out_of_range_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], b"a\n");
    assert_error(
        &run(&["read", s(&log), "--from", "5"]),
        1,
        &["out of range"],
    );
}
