//! `dislog tail`, with and without `-f`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{dislog, lines, ok, ok_with, s};

#[test]
fn last_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], lines("r", 20).as_bytes());
    assert_eq!(ok(&["tail", s(&log), "-n", "3"]), "r17\nr18\nr19\n");
    assert_eq!(ok(&["tail", s(&log)]).lines().count(), 10);
    assert_eq!(ok(&["tail", s(&log), "-n", "100"]).lines().count(), 20);
    assert_eq!(ok(&["tail", s(&log), "-n", "0"]), "");
    let json = ok(&["tail", s(&log), "-n", "1", "--json"]);
    let row: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(row["offset"], 19);
}

/// Kills the child when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `dislog tail -f` and sends each line it prints down a channel.
fn follow(log: &std::path::Path) -> (KillOnDrop, mpsc::Receiver<String>) {
    follow_every(log, "50ms")
}

/// [`follow`], polling every `interval`.
fn follow_every(log: &std::path::Path, interval: &str) -> (KillOnDrop, mpsc::Receiver<String>) {
    let mut child = dislog()
        .args(["tail", "-f", "-n", "1", "--interval", interval, s(log)])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (KillOnDrop(child), rx)
}

const PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn follow_sees_records_appended_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], b"before\n");
    let (_child, rx) = follow(&log);
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "before");
    ok_with(&["append", s(&log)], b"one\n");
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "one");
    // Enough records to roll segments while following.
    ok_with(
        &["append", s(&log), "--max-store-bytes", "1KiB"],
        lines("x", 200).as_bytes(),
    );
    for i in 0..200 {
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), format!("x{i}"));
    }
    ok_with(&["append", s(&log)], b"last\n");
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "last");
    // Each record exactly once: nothing more arrives.
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
}

#[test]
fn follow_sees_a_live_writer_that_keeps_the_log_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], b"start\n");
    let (_tail, rx) = follow(&log);
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "start");
    // A producer that writes a line now and then, holding the writer lock.
    let mut producer = dislog()
        .args(["append", s(&log)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    for word in ["live1", "live2", "live3"] {
        writeln!(stdin, "{word}").unwrap();
        stdin.flush().unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), word);
    }
    drop(stdin);
    let out = producer.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "appended 3 records (15 B), offsets 1 to 3\n"
    );
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn read_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(
        &["append", s(&log)],
        lines("many records to print ", 50_000).as_bytes(),
    );
    let mut child = dislog()
        .args(["read", s(&log)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "many records to print 0\n");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", out.status);
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
}

#[test]
fn follow_ends_quietly_when_the_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], b"a\nb\n");
    let mut child = dislog()
        .args(["tail", "-f", "--interval", "50ms", s(&log)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "a\n");
    drop(stdout);
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "tail -f kept running");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn follow_keeps_going_while_another_process_retains_and_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(
        &["append", s(&log), "--max-store-bytes", "1KiB"],
        lines("r", 200).as_bytes(),
    );
    let (mut tail, rx) = follow(&log);
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "r199");
    let still_following = |tail: &mut KillOnDrop| {
        assert!(tail.0.try_wait().unwrap().is_none(), "tail -f stopped");
    };

    // Retention removes old segments under the follower: nothing is
    // printed again, and new records still come through.
    let removed = ok(&["retain", s(&log), "--max-bytes", "2KiB"]);
    assert!(removed.starts_with("removed "), "{removed}");
    let lowest = |log: &std::path::Path| -> u64 {
        let stat: serde_json::Value =
            serde_json::from_str(&ok(&["stat", s(log), "--json"])).unwrap();
        stat["lowest_offset"].as_u64().unwrap()
    };
    assert!(lowest(&log) > 0);
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    still_following(&mut tail);
    ok_with(&["append", s(&log)], b"after retain\n");
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "after retain");

    // So does prefix truncation by offset.
    ok(&["truncate", s(&log), "--before", "150"]);
    assert!(lowest(&log) > 100);
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    still_following(&mut tail);
    ok_with(&["append", s(&log)], b"after truncate\n");
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "after truncate");

    // A suffix cut moves the end back: once the follower has seen it, the
    // records appended at the reused offsets are printed.
    let cut = ok(&["truncate", s(&log), "--from", "190"]);
    assert!(cut.starts_with("removed 12 records"), "{cut}");
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    still_following(&mut tail);
    let appended = ok_with(&["append", s(&log)], b"reused\n");
    assert!(appended.contains("offsets 190 to 190"), "{appended}");
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "reused");
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    still_following(&mut tail);
}

#[test]
fn follow_prints_records_that_replaced_ones_it_printed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], lines("r", 10).as_bytes());
    // A slow poll, so that the cut and the appends below usually both land
    // between two looks: the end is then past where the follower was, and
    // only the replaced records tell it what happened. (When a look falls
    // between them, the end moving back tells it; the output is the same.)
    let (_tail, rx) = follow_every(&log, "1s");
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), "r9");
    let cut = ok(&["truncate", s(&log), "--from", "8"]);
    assert!(cut.starts_with("removed 2 records"), "{cut}");
    let appended = ok_with(&["append", s(&log)], b"n8\nn9\nn10\n");
    assert!(appended.contains("offsets 8 to 10"), "{appended}");
    for want in ["n8", "n9", "n10"] {
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), want);
    }
    assert!(rx.recv_timeout(Duration::from_millis(1500)).is_err());
}
