//! Journeys in a real terminal: tools/tui_journey.sh (the main one), tui_longkeys.sh and
//! tui_lazy.sh (a file opened lean) drive this build's binary in tmux (send-keys /
//! capture-pane) and check what a person would see, then what is on disk.

mod common;

#[test]
fn the_main_journey_works_in_a_real_terminal() {
    let (code, text) = common::run_tool("tools/tui_journey.sh");
    match code {
        Some(0) => {}
        // tmux or python3 missing: a failure under CI (which installs both), else a skip.
        Some(2) => common::skip("the_main_journey_works_in_a_real_terminal", text.trim()),
        _ => panic!("tmux journey failed:\n{text}"),
    }
}

#[test]
fn long_keys_stay_apart_at_80_columns_and_y_copies_over_osc52_in_a_real_terminal() {
    let (code, text) = common::run_tool("tools/tui_longkeys.sh");
    match code {
        Some(0) => assert!(text.contains("8 long keys apart"), "{text}"),
        Some(2) => common::skip(
            "long_keys_stay_apart_at_80_columns_and_y_copies_over_osc52_in_a_real_terminal",
            text.trim(),
        ),
        _ => panic!("long-key journey failed:\n{text}"),
    }
}

#[test]
fn a_file_opened_lean_drills_into_containers_kept_as_spans_like_the_full_parse() {
    let (code, text) = common::run_tool("tools/tui_lazy.sh");
    match code {
        Some(0) => assert!(text.contains("5 levels"), "{text}"),
        Some(2) => common::skip(
            "a_file_opened_lean_drills_into_containers_kept_as_spans_like_the_full_parse",
            text.trim(),
        ),
        _ => panic!("lean journey failed:\n{text}"),
    }
}
