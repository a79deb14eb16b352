//! What kind of thing a node is, in words: the type column of the explorer (`dict[3 str]`,
//! `Stage[4 list]`, `ndarray float64 (100,)`, `str 'abc'`).

use crate::fmt::size;
use crate::model::{Model, short_name};
use crate::pickle::value::scalar_preview;
use crate::pickle::{Kind, NodeId};

/// What kind of thing a node is, for the type column.
pub fn type_text(m: &Model, id: NodeId, full: bool) -> String {
    let g = m.graph();
    let data = m.data();
    if id == crate::pickle::NO_NODE {
        // The trailing-bytes row of a file with bytes after its pickles.
        return "bytes, not a pickle".into();
    }
    let Some(n) = g.get(id) else {
        return "?".into();
    };
    if let Some(a) = m.array(id) {
        return format!("ndarray {}", a.describe());
    }
    let cname = |c: String| if full { c } else { short_name(&c).to_string() };
    match n.kind {
        Kind::Call { .. } => {
            let c = m.class_of(id).map(cname).unwrap_or_else(|| "object".into());
            match elems(m, id) {
                Some(e) => format!("{c}[{e}]"),
                None => c,
            }
        }
        Kind::Dict | Kind::List | Kind::Tuple | Kind::Set | Kind::FrozenSet => {
            format!(
                "{}[{}]",
                n.kind.type_name(),
                elems(m, id).unwrap_or_default()
            )
        }
        Kind::Str(_) => format!(
            "str {}",
            scalar_preview(g, data, id, 28).unwrap_or_default()
        ),
        Kind::Int { .. } => format!(
            "int {}",
            scalar_preview(g, data, id, 24).unwrap_or_default()
        ),
        Kind::Float { .. } => format!(
            "float {}",
            scalar_preview(g, data, id, 24).unwrap_or_default()
        ),
        Kind::Bool(b) => format!("bool {}", if b { "True" } else { "False" }),
        Kind::None => "None".into(),
        Kind::Bytes { payload } => match crate::model::nested::nested_hint(m, id) {
            Some(h) => format!("bytes {} ({h})", size(payload.len())),
            None => format!("bytes {}", size(payload.len())),
        },
        Kind::ByteArray { payload } => format!("bytearray {}", size(payload.len())),
        Kind::Global { .. } => {
            let s = crate::pickle::value::global_name(g, data, id).unwrap_or_default();
            format!(
                "global {}",
                if full {
                    s.clone()
                } else {
                    short_name(&s).to_string()
                }
            )
        }
        Kind::PersId { .. } => "persistent id".into(),
        Kind::Ext(c) => format!("extension code {c}"),
        Kind::Buffer { index, .. } => format!("out-of-band buffer #{index}"),
    }
}

/// `"8 list"` / `"12 items"`: how many items an object holds itself (not its attributes) and
/// their common kind, judged from the first 50. Reads edges directly, so a million-item list
/// costs nothing per frame.
fn elems(m: &Model, id: NodeId) -> Option<String> {
    let own = || {
        m.graph()
            .children(id)
            .iter()
            .filter(|e| e.key != crate::pickle::STATE_KEY)
    };
    let n = own().count();
    if n == 0 {
        // A container a lean graph keeps without its items: what was read of them.
        return match m.hollow_summary(id) {
            Some(s) => crate::model::lazy::summary_text(s),
            None => m.is_hollow(id).then(|| "…".to_string()),
        };
    }
    let kinds: Vec<String> = own().take(50).map(|e| elem_kind(m, e.value)).collect();
    Some(match kinds.first() {
        Some(k) if kinds.iter().all(|x| x == k) => format!("{n} {k}"),
        _ => format!("{n} items"),
    })
}

fn elem_kind(m: &Model, id: NodeId) -> String {
    let g = m.graph();
    if m.array(id).is_some() {
        return "ndarray".into();
    }
    match g.get(id).map(|n| n.kind) {
        Some(Kind::Call { .. }) => m
            .class_of(id)
            .map(|c| short_name(&c).to_string())
            .unwrap_or_else(|| "object".into()),
        Some(
            k @ (Kind::Dict
            | Kind::List
            | Kind::Tuple
            | Kind::Str(_)
            | Kind::Int { .. }
            | Kind::Float { .. }),
        ) => k.type_name().into(),
        _ => "item".into(),
    }
}
