//! Formatting for people, in one place: byte sizes and shares (`bytes`), names fitted into
//! terminal cells (`cells`). Shared by `report`'s text, the explorer, `survey` and the CLI.

mod bytes;
mod cells;

pub use bytes::{change, change_pct, pct, saved_col, saves_or_grows, signed, size, size_in};
pub use cells::{elide_end, elide_middle, fit, truncate, truncate_left, width};
