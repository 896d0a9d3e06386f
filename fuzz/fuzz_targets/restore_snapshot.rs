//! Fuzz target `restore_snapshot`: see `dislog_sim::fuzz::restore_snapshot`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dislog_sim::fuzz::restore_snapshot(data));
