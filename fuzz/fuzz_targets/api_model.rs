//! Fuzz target `api_model`: see `dislog_sim::fuzz::api_model`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dislog_sim::fuzz::api_model(data));
