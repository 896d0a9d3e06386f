//! Two processes: lock contention, a writer killed with `SIGKILL`
//! mid-append, and a writer that exits without closing.
//!
//! The child processes are this test binary itself, started with
//! `DISLOG_CHILD` set: [`child_process_entry_point`] then plays the role it
//! names instead of testing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::{check_records, fill, payload};
use dislog::{Config, ErrorCode, Log};

const ROLE: &str = "DISLOG_CHILD";
const DIR: &str = "DISLOG_CHILD_DIR";

/// Segments of 64 KiB, so that a killed writer has crossed a few.
fn config() -> Config {
    Config {
        max_store_bytes: 64 << 10,
        max_index_bytes: 16 << 10,
        ..Config::default()
    }
}

/// Entry point of the child processes; does nothing in the parent.
#[test]
fn child_process_entry_point() {
    let (Ok(role), Ok(dir)) = (std::env::var(ROLE), std::env::var(DIR)) else {
        return;
    };
    let mut out = std::io::stdout();
    let log = Log::open(&dir, config()).unwrap();
    match role.as_str() {
        // Holds the lock until its stdin closes.
        "hold" => {
            writeln!(out, "child: locked").unwrap();
            out.flush().unwrap();
            let _ = std::io::stdin().lines().count();
            log.close().unwrap();
        }
        // Appends forever, reporting each sync, until killed.
        "append" => {
            let mut next = log.next_offset();
            loop {
                assert_eq!(log.append(&payload(next)).unwrap(), next);
                next += 1;
                if next.is_multiple_of(97) {
                    log.sync().unwrap();
                    writeln!(out, "child: synced {next}").unwrap();
                    out.flush().unwrap();
                }
            }
        }
        // Flushes 100 records, buffers 50 more and exits without closing.
        "forget" => {
            fill(&log, 0, 100);
            log.flush().unwrap();
            fill(&log, 100, 150);
            std::mem::forget(log);
            writeln!(out, "child: forgot").unwrap();
        }
        other => panic!("unknown child role {other}"),
    }
}

fn spawn(role: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_entry_point", "--nocapture"])
        .env(ROLE, role)
        .env(DIR, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The child's next line that starts with "child: ", without the prefix.
fn next_message(lines: &mut std::io::Lines<BufReader<ChildStdout>>) -> String {
    for line in lines.by_ref() {
        if let Some(message) = line.unwrap().strip_prefix("child: ") {
            return message.to_string();
        }
    }
    panic!("the child exited without a message");
}

#[test]
fn a_second_process_gets_locked_until_the_holder_dies() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn("hold", tmp.path());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(next_message(&mut lines), "locked");

    let err = Log::open(tmp.path(), config()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Locked, "{err}");
    assert!(err.to_string().contains(&child.id().to_string()), "{err}");
    // A read-only open does not need the lock.
    let ro = Log::open_read_only(tmp.path(), config()).unwrap();
    assert!(ro.is_empty());
    ro.close().unwrap();

    child.kill().unwrap();
    child.wait().unwrap();
    let log = Log::open(tmp.path(), config()).unwrap();
    assert_eq!(log.next_offset(), 0);
    log.close().unwrap();
}

#[test]
fn records_synced_before_a_sigkill_survive_it() {
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let mut child = spawn("append", tmp.path());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut synced = 0;
        for _ in 0..(5 + 7 * round) {
            let message = next_message(&mut lines);
            synced = message.strip_prefix("synced ").unwrap().parse().unwrap();
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let log = Log::open(tmp.path(), config()).unwrap();
        let next = log.next_offset();
        assert!(next >= synced, "round {round}: {next} < synced {synced}");
        check_records(&log, 0, next);
        log.close().unwrap();
    }
}

#[test]
fn a_writer_exiting_without_close_keeps_what_it_flushed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn("forget", tmp.path());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(next_message(&mut lines), "forgot");
    assert!(child.wait().unwrap().success());

    let log = Log::open(tmp.path(), config()).unwrap();
    check_records(&log, 0, 100);
    assert_eq!(log.append(&payload(100)).unwrap(), 100);
    log.close().unwrap();
}
