//! libFuzzer target: see `checks::rewrite_with_derived_rules` (fuzz/src/checks.rs).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::rewrite_with_derived_rules(data));
