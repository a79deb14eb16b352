//! The key table: every binding, its action and its help text. The key handler and the help
//! screen both read this one table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Open,
    Back,
    ToggleMark,
    Undo,
    CycleSort,
    Search,
    SearchNext,
    Classes,
    Detail,
    FocusMarks,
    Export,
    Write,
    Reload,
    FullNames,
    Help,
    Quit,
    ForceQuit,
    Suspend,
    Copy,
    CopyMarks,
}

/// One key as written in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Code(KeyCode),
}

/// A binding: keys, action, and what the help screen says.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

use Key::{Char, Code, Ctrl};

/// Every key picklescope understands (outside dialogs, which say their keys on screen).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[Code(KeyCode::Up), Char('k')],
        label: "↑/k",
        action: Action::Up,
        help: "move up",
    },
    Binding {
        keys: &[Code(KeyCode::Down), Char('j')],
        label: "↓/j",
        action: Action::Down,
        help: "move down",
    },
    Binding {
        keys: &[Code(KeyCode::PageUp), Ctrl('b')],
        label: "PgUp",
        action: Action::PageUp,
        help: "page up",
    },
    Binding {
        keys: &[Code(KeyCode::PageDown), Ctrl('f')],
        label: "PgDn",
        action: Action::PageDown,
        help: "page down",
    },
    Binding {
        keys: &[Char('g'), Code(KeyCode::Home)],
        label: "g",
        action: Action::First,
        help: "first row; on a mark with --source DIR: code reading it unguarded",
    },
    Binding {
        keys: &[Char('G'), Code(KeyCode::End)],
        label: "G",
        action: Action::Last,
        help: "last row",
    },
    Binding {
        keys: &[Code(KeyCode::Enter), Code(KeyCode::Right), Char('l')],
        label: "⏎/→/l",
        action: Action::Open,
        help: "open the selected stage or object",
    },
    Binding {
        keys: &[Code(KeyCode::Left), Char('h'), Code(KeyCode::Backspace)],
        label: "←/h/⌫",
        action: Action::Back,
        help: "up one level (from a stage's root back to Stages)",
    },
    Binding {
        keys: &[Char(' ')],
        label: "space",
        action: Action::ToggleMark,
        help: "mark/unmark class.attr transient (every instance, every stage)",
    },
    Binding {
        keys: &[Char('u')],
        label: "u",
        action: Action::Undo,
        help: "undo the last mark change",
    },
    Binding {
        keys: &[Char('s')],
        label: "s",
        action: Action::CycleSort,
        help: "sort: retained size, name, file order",
    },
    Binding {
        keys: &[Char('/')],
        label: "/",
        action: Action::Search,
        help: "search rows (type, ⏎ jumps to the first match)",
    },
    Binding {
        keys: &[Char('n')],
        label: "n",
        action: Action::SearchNext,
        help: "next search match",
    },
    Binding {
        keys: &[Char('c')],
        label: "c",
        action: Action::Classes,
        help: "class.attr groups across the whole context",
    },
    Binding {
        keys: &[Char('i')],
        label: "i",
        action: Action::Detail,
        help: "detail: class, byte span, memo sharing, opcodes",
    },
    Binding {
        keys: &[Code(KeyCode::Tab)],
        label: "Tab",
        action: Action::FocusMarks,
        help: "focus the what-if pane (space there removes a rule)",
    },
    Binding {
        keys: &[Char('e')],
        label: "e",
        action: Action::Export,
        help: "export rules: TOML and Python _transient_fields",
    },
    Binding {
        keys: &[Char('w')],
        label: "w",
        action: Action::Write,
        help: "write slimmed files (asks first, lists before → after)",
    },
    Binding {
        keys: &[Char('r')],
        label: "r",
        action: Action::Reload,
        help: "reload the files changed on disk (the marks stay)",
    },
    Binding {
        keys: &[Char('y')],
        label: "y",
        action: Action::Copy,
        help: "copy the selected row's path (OSC 52 clipboard, works over SSH)",
    },
    Binding {
        keys: &[Char('Y')],
        label: "Y",
        action: Action::CopyMarks,
        help: "copy the marks as TOML rules (OSC 52 clipboard)",
    },
    Binding {
        keys: &[Char('t')],
        label: "t",
        action: Action::FullNames,
        help: "short / full class names",
    },
    Binding {
        keys: &[Char('?'), Code(KeyCode::F(1))],
        label: "?",
        action: Action::Help,
        help: "this help",
    },
    Binding {
        keys: &[Char('q'), Code(KeyCode::Esc)],
        label: "q",
        action: Action::Quit,
        help: "quit (asks when marks are unsaved)",
    },
    Binding {
        keys: &[Ctrl('c')],
        label: "Ctrl-C",
        action: Action::ForceQuit,
        help: "quit now, restoring the terminal",
    },
    Binding {
        keys: &[Ctrl('z')],
        label: "Ctrl-Z",
        action: Action::Suspend,
        help: "suspend to the shell (fg comes back)",
    },
];

impl Key {
    fn matches(&self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match *self {
            Key::Char(c) => !ctrl && ev.code == KeyCode::Char(c),
            Key::Ctrl(c) => ctrl && ev.code == KeyCode::Char(c),
            Key::Code(k) => ev.code == k,
        }
    }
}

/// The action bound to a key event.
pub fn action_for(ev: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
        .map(|b| b.action)
}

/// The label of the binding for an action (for footers).
pub fn label_of(a: Action) -> &'static str {
    BINDINGS
        .iter()
        .find(|b| b.action == a)
        .map(|b| b.label)
        .unwrap_or("")
}
