//! libFuzzer target: see `checks::sparse` (fuzz/src/checks.rs).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::sparse(data));
