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
            "1 record before it were appended",
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
    assert_error(&out, 1, &["input record 2", "8 bytes", "limit of 4 bytes"]);
    assert_eq!(ok(&["read", s(&log)]), "abc\n");
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
