//! The `dislog` command (work in progress).

fn main() {}
