//! Progress bars: drawn on stderr when it is a terminal (a pty made by
//! util-linux `script`), absent when stderr is a pipe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{lines, ok, run_with, s};

/// Enough records that appending and verifying them is a long operation.
const RECORDS: usize = 100_000;

/// Runs the shell command `command` with stdin, stdout and stderr on a
/// fresh pty (`script -qc`), and returns what the pty showed.
fn on_a_terminal(command: &str) -> String {
    let out = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` is needed to run a command on a pty");
    assert!(
        out.status.success(),
        "{command}: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `path` quoted for sh.
fn quoted(path: &Path) -> String {
    format!("'{}'", s(path).replace('\'', r"'\''"))
}

#[test]
fn long_operations_show_progress_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::write(&input, lines("a record of some length, number ", RECORDS)).unwrap();
    let log = dir.path().join("log");
    let bin = env!("CARGO_BIN_EXE_dislog");
    // Only stderr is the terminal: stdout goes to a file, stdin is a file.
    let stdout = dir.path().join("stdout");
    let screen = on_a_terminal(&format!(
        "'{bin}' append {} < {} > {}",
        quoted(&log),
        quoted(&input),
        quoted(&stdout)
    ));
    assert!(screen.contains("appending ["), "{screen:?}");
    assert!(
        screen.contains("MiB"),
        "sizes are human-readable: {screen:?}"
    );
    let printed = std::fs::read_to_string(&stdout).unwrap();
    assert!(
        printed.starts_with("appended 100,000 records ("),
        "{printed}"
    );
    assert!(!screen.contains("appended 100,000"), "{screen:?}");

    let screen = on_a_terminal(&format!(
        "'{bin}' verify {} > {}",
        quoted(&log),
        quoted(&stdout)
    ));
    assert!(screen.contains("verifying 100,000 records"), "{screen:?}");
    let printed = std::fs::read_to_string(&stdout).unwrap();
    assert!(printed.starts_with("ok: 100,000 records"), "{printed}");

    // Piped, the same commands are silent on stderr.
    let input_bytes = std::fs::read(&input).unwrap();
    let piped = run_with(&["append", s(&log)], &input_bytes);
    assert!(piped.status.success());
    assert_eq!(String::from_utf8(piped.stderr).unwrap(), "");
    let verify = common::run(&["verify", s(&log)]);
    assert!(verify.status.success());
    assert_eq!(String::from_utf8(verify.stderr).unwrap(), "");
    assert!(ok(&["verify", s(&log)]).starts_with("ok: 200,000 records"));
}
