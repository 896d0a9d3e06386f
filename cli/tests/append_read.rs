//! `dislog append` and `dislog read`: every input mode and output format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, lines, ok, ok_with, run_with, s};

#[test]
fn lines_round_trip_and_offsets_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let out = ok_with(&["append", s(&log)], b"alpha\nbeta\n\ngamma");
    assert_eq!(out, "appended 4 records (14 B), offsets 0 to 3\n");
    // An empty line is an empty record; a last line without newline counts.
    assert_eq!(ok(&["read", s(&log)]), "alpha\nbeta\n\ngamma\n");
    let out = ok_with(&["append", s(&log)], b"delta\n");
    assert_eq!(out, "appended 1 record (5 B), offsets 4 to 4\n");
    assert_eq!(
        ok(&["read", s(&log), "--from", "3", "--count", "1"]),
        "gamma\n"
    );
    assert_eq!(ok(&["read", s(&log), "--from", "4"]), "delta\n");
    assert_eq!(ok(&["read", s(&log), "--from", "5"]), "");
    let out = ok_with(&["append", s(&log)], b"");
    assert_eq!(out, "appended 0 records; next offset 5\n");
}

#[test]
fn delimiter_mode() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log), "--delimiter", ","], b"a,b\nc,d,");
    assert_eq!(ok(&["read", s(&log), "--json"]).lines().count(), 3);
    assert_eq!(ok(&["read", s(&log), "--from", "1", "-n", "1"]), "b\nc\n");
    ok_with(&["append", s(&log), "-d", "\\0"], b"x\0y");
    ok_with(&["append", s(&log), "-d", "0x1e"], b"p\x1eq");
    assert_eq!(ok(&["read", s(&log), "--from", "3"]), "x\ny\np\nq\n");
}

#[test]
fn framed_mode_keeps_binary_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let payloads: [&[u8]; 4] = [b"one", &[0, 255, 10, 13], b"", &[0xc3, 0x28]];
    let mut input = Vec::new();
    for p in payloads {
        input.extend_from_slice(&(p.len() as u32).to_le_bytes());
        input.extend_from_slice(p);
    }
    let out = ok_with(&["append", s(&log), "--framed"], &input);
    assert!(out.contains("offsets 0 to 3"), "{out}");
    let hex = ok(&["read", s(&log), "--hex"]);
    assert_eq!(hex, "6f6e65\n00ff0a0d\n\nc328\n");
    let json = ok(&["read", s(&log), "--json"]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["payload"], "one");
    assert_eq!(rows[1]["payload_base64"], "AP8KDQ==");
    assert_eq!(rows[2]["payload"], "");
    assert_eq!(rows[3]["payload_base64"], "wyg=");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["offset"], i as u64);
        assert!(row["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        assert!(row["time"].as_str().unwrap().ends_with('Z'));
    }
    // Text mode writes the bytes as they are.
    let raw = common::run(&["read", s(&log), "--from", "1", "-n", "1"]);
    assert_eq!(raw.stdout, [0, 255, 10, 13, b'\n']);
}

#[test]
fn truncated_framed_input_keeps_the_records_before() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut input = Vec::new();
    input.extend_from_slice(&2u32.to_le_bytes());
    input.extend_from_slice(b"ok");
    input.extend_from_slice(&10u32.to_le_bytes());
    input.extend_from_slice(b"short");
    let out = run_with(&["append", s(&log), "--framed"], &input);
    assert_error(
        &out,
        1,
        &[
            "input record 2",
            "5 of 10 bytes",
            "the 1 record before it was appended",
        ],
    );
    assert_eq!(ok(&["read", s(&log)]), "ok\n");
}

#[test]
fn oversized_record_is_refused_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let out = run_with(
        &["append", s(&log), "--max-record-bytes", "4"],
        b"abc\nabcdefgh\nxyz\n",
    );
    assert_error(
        &out,
        1,
        &["input record 2 is larger than the limit of 4 bytes"],
    );
    assert_eq!(ok(&["read", s(&log)]), "abc\n");
}

#[test]
fn a_record_of_exactly_the_limit_fits_and_one_byte_more_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let limit = ["--max-record-bytes", "1KiB"];
    let full = "x".repeat(1024);
    // With and without a final delimiter.
    ok_with(
        &["append", s(&log), limit[0], limit[1]],
        format!("{full}\n{full}").as_bytes(),
    );
    let over = format!("ok\n{full}y");
    let out = run_with(&["append", s(&log), limit[0], limit[1]], over.as_bytes());
    assert_error(
        &out,
        1,
        &[
            "input record 2 is larger than the limit of 1024 bytes",
            "the 1 record before it was appended",
        ],
    );
    // Framed: the length prefix alone decides.
    let mut framed = 1024u32.to_le_bytes().to_vec();
    framed.extend_from_slice(full.as_bytes());
    framed.extend_from_slice(&1025u32.to_le_bytes());
    framed.extend_from_slice(full.as_bytes());
    framed.push(b'y');
    let out = run_with(
        &["append", s(&log), "--framed", limit[0], limit[1]],
        &framed,
    );
    assert_error(
        &out,
        1,
        &["input record 2 (1025 bytes) is larger than the limit of 1024 bytes"],
    );
    let lengths: Vec<usize> = ok(&["read", s(&log)]).lines().map(str::len).collect();
    assert_eq!(lengths, [1024, 1024, 2, 1024]);
}

/// Runs `dislog ARGS` on an endless stream of `byte`s (as from /dev/zero)
/// and returns its output; fails if it is still reading after a while.
fn on_endless_input(args: &[&str], byte: u8) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = common::dislog()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Ends when the command closes its end of the pipe.
    let feeder = std::thread::spawn(move || {
        let chunk = vec![byte; 1 << 16];
        while stdin.write_all(&chunk).is_ok() {}
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("dislog {args:?} kept reading an endless oversized record");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

#[test]
fn an_endless_record_is_refused_at_the_default_limit_without_buffering_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    // No delimiter ever comes: the command must stop at the default limit
    // (8 MiB) instead of reading until memory runs out.
    let out = on_endless_input(&["append", s(&log)], 0);
    assert_error(
        &out,
        1,
        &[
            "input record 1 is larger than the limit of 8388608 bytes",
            "nothing was appended",
        ],
    );
    assert_eq!(ok(&["read", s(&log)]), "");
    // A framed record whose prefix promises 4 GiB - 1 is refused before
    // any of it is read.
    let out = on_endless_input(&["append", s(&log), "--framed"], 0xff);
    assert_error(&out, 1, &["input record 1 (4294967295 bytes) is larger"]);
}

#[test]
fn meta_prefixes_offset_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], b"a\nb\n");
    let out = ok(&["read", s(&log), "--meta"]);
    let fields: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[1][0], "1");
    assert!(fields[1][1].starts_with("20") && fields[1][1].ends_with('Z'));
    assert_eq!(fields[1][2], "b");
    let hex = ok(&["read", s(&log), "--meta", "--hex", "--from", "1"]);
    assert!(hex.starts_with("1\t") && hex.ends_with("\t62\n"), "{hex}");
}

#[test]
fn since_selects_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    ok_with(&["append", s(&log)], lines("old", 3).as_bytes());
    std::thread::sleep(std::time::Duration::from_millis(30));
    let cut = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(30));
    ok_with(&["append", s(&log)], lines("new", 2).as_bytes());
    assert_eq!(ok(&["read", s(&log), "--since", &cut]), "new0\nnew1\n");
    assert_eq!(ok(&["read", s(&log), "--since", "1h"]).lines().count(), 5);
    assert_eq!(ok(&["read", s(&log), "--since", "0"]).lines().count(), 5);
    assert_eq!(
        ok(&["read", s(&log), "--since", "2999-01-01T00:00:00Z"]),
        ""
    );
    assert_eq!(
        ok(&[
            "read",
            s(&log),
            "--since",
            "2000-01-01T00:00:00Z",
            "-n",
            "1"
        ]),
        "old0\n"
    );
}

#[test]
fn sync_policies_and_layout_options_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    for sync in ["never", "always", "bytes:1KiB", "ms:50"] {
        ok_with(
            &[
                "append",
                s(&log),
                "--sync",
                sync,
                "--max-store-bytes",
                "4KiB",
            ],
            lines(sync, 100).as_bytes(),
        );
    }
    assert_eq!(ok(&["read", s(&log)]).lines().count(), 400);
    let stat: serde_json::Value = serde_json::from_str(&ok(&["stat", s(&log), "--json"])).unwrap();
    assert!(stat["segments"].as_array().unwrap().len() > 1, "{stat}");
}

/// How many `fsync`/`fdatasync` calls `dislog ARGS` makes on `stdin`,
/// counted by strace.
fn syncs_of(args: &[&str], stdin: &[u8]) -> usize {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", s(&trace)])
        .arg(env!("CARGO_BIN_EXE_dislog"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace is needed to observe syncs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains("sync("))
        .count()
}

#[test]
fn sync_policies_decide_when_the_log_syncs() {
    let dir = tempfile::tempdir().unwrap();
    // At least 13 batches of at most 4,096 records each.
    let input = lines("r", 50_000);
    let mut counts = Vec::new();
    for (i, sync) in ["never", "always", "bytes:16KiB", "bytes:1GiB"]
        .into_iter()
        .enumerate()
    {
        let log = dir.path().join(i.to_string());
        counts.push(syncs_of(
            &["append", s(&log), "--sync", sync],
            input.as_bytes(),
        ));
        assert_eq!(ok(&["read", s(&log)]).lines().count(), 50_000);
    }
    let [never, always, often, rarely] = counts[..] else {
        unreachable!()
    };
    // `never` still syncs when the command ends, cleanly closing the log.
    assert!(never > 0, "{counts:?}");
    // `always` syncs after every batch.
    assert!(always >= never + 13, "{counts:?}");
    // A byte threshold syncs when it is crossed, and not before.
    assert!(often > never, "{counts:?}");
    assert_eq!(rarely, never, "{counts:?}");
}
