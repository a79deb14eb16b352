//! libFuzzer target: see `checks::model` (fuzz/src/checks.rs).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::model(data));
