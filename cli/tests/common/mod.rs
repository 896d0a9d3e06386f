//! Helpers for running the `dislog` binary in tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn dislog() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dislog"))
}

/// Runs `dislog ARGS` with `stdin` as its standard input.
pub fn run_with(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = dislog()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dislog");
    let mut input = child.stdin.take().unwrap();
    // A command that fails early may close stdin before reading it all.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait for dislog")
}

/// Runs `dislog ARGS` with empty standard input.
pub fn run(args: &[&str]) -> Output {
    run_with(args, b"")
}

/// Runs and expects success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    ok_with(args, b"")
}

/// Runs with input and expects success; returns stdout.
pub fn ok_with(args: &[&str], stdin: &[u8]) -> String {
    let out = run_with(args, stdin);
    assert!(
        out.status.success(),
        "dislog {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts a failure with exit code `code`, exactly one line on stderr
/// starting with `dislog: error:` and containing each of `needles`, and no
/// panic. Returns the line.
pub fn assert_error(out: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(stderr.starts_with("dislog: error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    }
    stderr
}

/// The path as a `&str` (tests use UTF-8 temporary paths).
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The store files of a log, oldest first.
pub fn stores(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "store"))
        .collect();
    files.sort();
    files
}

/// Lines `prefix0` .. `prefix{n-1}`, newline-terminated.
pub fn lines(prefix: &str, n: usize) -> String {
    (0..n).map(|i| format!("{prefix}{i}\n")).collect()
}
