//! Fuzz target `open_arbitrary_files`: see `dislog_sim::fuzz::open_arbitrary_files`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dislog_sim::fuzz::open_arbitrary_files(data));
