//! The children of an object as a person sees them: attributes, items, entries — and paths.

use std::borrow::Cow;

use crate::pickle::value::{name_value, scalar_preview};
use crate::pickle::{Edge, Graph, Kind, NO_NODE, NodeId, STATE_KEY, Span};

use super::classes::{array_summary, is_numpy_array};

/// How a child is named under its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// An instance attribute; the node is the attribute-name string.
    Attr(NodeId),
    /// An item of a slots tuple state.
    Slot(usize),
    /// A list, tuple or set item.
    Index(usize),
    /// A dict entry; the node is the key.
    Key(NodeId),
    /// An argument of the call that made the object.
    Arg(usize),
    /// A BUILD state that is neither a dict nor a tuple.
    State,
    /// One of several pickles back to back in a file, by index; the value is its root.
    Pickle(u32),
    /// Bytes after the last pickle that are not one (no node).
    Trailing,
}

/// One child row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub label: Label,
    pub value: NodeId,
    /// Bytes of the key and value in the stream (the inline size).
    pub span: Span,
    /// For attributes: the instance that has them.
    pub instance: NodeId,
}

impl Row {
    pub fn is_attr(&self) -> bool {
        matches!(self.label, Label::Attr(_))
    }
}

/// The children of `id`, in stream order.
pub fn rows(g: &Graph, data: &[u8], id: NodeId) -> Vec<Row> {
    let mut out = Vec::new();
    rows_into(g, data, id, &mut out);
    out
}

/// Like [`rows`], into a reused buffer (cleared first): walks over whole graphs allocate once.
pub fn rows_into(g: &Graph, data: &[u8], id: NodeId, out: &mut Vec<Row>) {
    out.clear();
    let Some(n) = g.get(id) else { return };
    match n.kind {
        Kind::Call { args, .. } => {
            if is_numpy_array(g, data, id) && array_summary(g, data, id).is_some() {
                // An object array's elements are the list its state ends with.
                if let Some(raw) = g.children(n.state).last().map(|e| e.value)
                    && g.get(raw).is_some_and(|r| r.kind == Kind::List)
                {
                    own_rows(g, raw, out);
                }
                return;
            }
            if n.state != NO_NODE {
                state_rows(g, id, n.state, out);
            }
            own_rows(g, id, out);
            if out.is_empty() && args != NO_NODE {
                for (i, e) in g.children(args).iter().enumerate() {
                    out.push(Row {
                        label: Label::Arg(i),
                        value: e.value,
                        span: e.span,
                        instance: NO_NODE,
                    });
                }
            }
        }
        Kind::Dict | Kind::List | Kind::Tuple | Kind::Set | Kind::FrozenSet => own_rows(g, id, out),
        _ => {}
    }
}

/// The edges that are rows of a container: its items and entries, in order (a BUILD state
/// on it is not one).
fn own_edges(g: &Graph, id: NodeId) -> impl Iterator<Item = &Edge> {
    g.children(id).iter().filter(|e| e.key != STATE_KEY)
}

fn own_rows(g: &Graph, id: NodeId, out: &mut Vec<Row>) {
    let mut idx = 0;
    // A million-item list would otherwise grow (and copy) its rows twenty times.
    out.reserve(g.children(id).len());
    for e in own_edges(g, id) {
        let label = if e.key == NO_NODE {
            idx += 1;
            Label::Index(idx - 1)
        } else {
            Label::Key(e.key)
        };
        out.push(Row {
            label,
            value: e.value,
            span: e.span,
            instance: NO_NODE,
        });
    }
}

fn state_rows(g: &Graph, inst: NodeId, state: NodeId, out: &mut Vec<Row>) {
    let Some(s) = g.get(state) else { return };
    let attrs = |d: NodeId, out: &mut Vec<Row>| {
        for e in g.children(d) {
            if e.key != NO_NODE && e.key != STATE_KEY {
                out.push(Row {
                    label: Label::Attr(e.key),
                    value: e.value,
                    span: e.span,
                    instance: inst,
                });
            }
        }
    };
    match s.kind {
        Kind::Dict => attrs(state, out),
        Kind::Tuple => {
            let items = g.children(state);
            let is_pair = items.len() == 2
                && items.iter().all(|e| {
                    matches!(
                        g.get(e.value).map(|n| n.kind),
                        Some(Kind::Dict | Kind::None)
                    )
                });
            if is_pair {
                for e in items {
                    if matches!(g.get(e.value).map(|n| n.kind), Some(Kind::Dict)) {
                        attrs(e.value, out);
                    }
                }
            } else {
                for (i, e) in items.iter().enumerate() {
                    out.push(Row {
                        label: Label::Slot(i),
                        value: e.value,
                        span: e.span,
                        instance: inst,
                    });
                }
            }
        }
        _ => {
            if let Some(e) = g.children(inst).iter().rev().find(|e| e.key == STATE_KEY) {
                out.push(Row {
                    label: Label::State,
                    value: state,
                    span: e.span,
                    instance: inst,
                });
            }
        }
    }
}

/// The name of an attribute whose name is node `k`: borrowed from the file when it is a
/// UTF-8 string there, else a preview of whatever the key is.
pub fn attr_name<'a>(g: &Graph, data: &'a [u8], k: NodeId) -> Cow<'a, str> {
    name_value(g, data, k)
        .unwrap_or_else(|| Cow::Owned(scalar_preview(g, data, k, 40).unwrap_or_else(|| "?".into())))
}

/// Characters of a dict key shown as its name: long enough that the screens, which elide in
/// the middle, can keep both ends (pipeline keys run to ~70 characters).
const KEY_PREVIEW: usize = 240;

/// The attribute name of an `Attr` label (or a key preview for dict keys).
pub fn label_text(g: &Graph, data: &[u8], label: Label) -> String {
    match label {
        Label::Attr(k) => attr_name(g, data, k).into_owned(),
        Label::Key(k) => scalar_preview(g, data, k, KEY_PREVIEW).unwrap_or_else(|| "<key>".into()),
        Label::Index(i) => format!("[{i}]"),
        Label::Slot(i) => format!("<slot {i}>"),
        Label::Arg(i) => format!("<arg {i}>"),
        Label::State => "<state>".into(),
        Label::Pickle(i) => format!("pickle {i}"),
        Label::Trailing => "trailing bytes".into(),
    }
}

/// The path segment of a label: `.attr`, `[3]`, `["key"]`.
pub fn path_segment(g: &Graph, data: &[u8], label: Label) -> String {
    match label {
        Label::Attr(_) => format!(".{}", label_text(g, data, label)),
        Label::Key(k) => match name_value(g, data, k) {
            Some(s) => format!("[{s:?}]"),
            None => format!("[{}]", label_text(g, data, label)),
        },
        Label::Index(i) => format!("[{i}]"),
        Label::Slot(i) => format!(".__getstate__()[{i}]"),
        Label::Arg(i) => format!(".__reduce__()[1][{i}]"),
        Label::State => ".__getstate__()".into(),
        Label::Pickle(i) => format!("<pickle {i}>"),
        Label::Trailing => "<trailing bytes>".into(),
    }
}

/// `base` followed by a path segment (`.attr`, `[3]`, `["key"]`); at the root (empty `base`)
/// a leading dot goes.
pub fn join_path(base: &str, seg: &str) -> String {
    if base.is_empty() {
        seg.strip_prefix('.').unwrap_or(seg).to_string()
    } else {
        format!("{base}{seg}")
    }
}

/// The top-level rows of a file that holds more than one pickle, or bytes after its pickle:
/// one row per pickle (its root, its span) and one for the trailing bytes; `None` for a file
/// that is exactly one pickle (its root's rows are the top level).
pub fn file_rows(g: &Graph, len: u64) -> Option<Vec<Row>> {
    if g.pickles.len() <= 1 && g.trailing.is_none() {
        return None;
    }
    let mut out: Vec<Row> = g
        .pickles
        .iter()
        .enumerate()
        .map(|(i, p)| Row {
            label: Label::Pickle(i as u32),
            value: p.root,
            span: p.span,
            instance: NO_NODE,
        })
        .collect();
    if let Some(t) = g.trailing {
        out.push(Row {
            label: Label::Trailing,
            value: NO_NODE,
            span: Span {
                start: t,
                end: len.max(t),
            },
            instance: NO_NODE,
        });
    }
    Some(out)
}

/// First-found parent of every node reachable from the roots (breadth first, no recursion).
#[derive(Debug, Default)]
pub struct Parents {
    of: Links,
}

/// `(parent, row index)` per node: for every node, or only for those a search stopped at.
#[derive(Debug)]
enum Links {
    /// `NO_NODE` parent for roots and unreachable nodes.
    All(Vec<(NodeId, u32)>),
    Some(foldhash::HashMap<NodeId, (NodeId, u32)>),
}

impl Default for Links {
    fn default() -> Self {
        Links::All(Vec::new())
    }
}

impl Parents {
    /// The parent of every reachable node.
    pub fn build(g: &Graph, data: &[u8]) -> Parents {
        let mut of = vec![(NO_NODE, 0u32); g.nodes.len()];
        Self::search(g, data, &[], |v, link| {
            if let Some(o) = of.get_mut(v as usize) {
                *o = link;
            }
        });
        Parents { of: Links::All(of) }
    }

    /// The parents on the way to each of `targets`, and of whatever the same search met
    /// first: the search stops once every target is found, so the paths of a few objects
    /// near the root cost a fraction of [`Parents::build`] (and give the same paths).
    pub fn build_for(g: &Graph, data: &[u8], targets: &[NodeId]) -> Parents {
        if targets.is_empty() {
            return Parents {
                of: Links::Some(foldhash::HashMap::default()),
            };
        }
        // A map while the search stays small; the full table once it is not (a map of most
        // nodes costs more than the table).
        let n = g.nodes.len();
        let mut links = Links::Some(foldhash::HashMap::default());
        Self::search(g, data, targets, |v, link| match &mut links {
            Links::Some(m) => {
                m.insert(v, link);
                if m.len() > n / 16 {
                    let mut all = vec![(NO_NODE, 0u32); n];
                    for (&k, &l) in m.iter() {
                        if let Some(o) = all.get_mut(k as usize) {
                            *o = l;
                        }
                    }
                    links = Links::All(all);
                }
            }
            Links::All(all) => {
                if let Some(o) = all.get_mut(v as usize) {
                    *o = link;
                }
            }
        });
        Parents { of: links }
    }

    /// Breadth first from the roots; `link(node, (parent, row))` at each node's first
    /// sighting. Stops early once every one of `targets` (if any) has been sighted.
    fn search(
        g: &Graph,
        data: &[u8],
        targets: &[NodeId],
        mut link: impl FnMut(NodeId, (NodeId, u32)),
    ) {
        let n = g.nodes.len();
        let mut seen = vec![0u64; n.div_ceil(64)];
        let mut first_sight = |v: NodeId| {
            let v = v as usize;
            match seen.get_mut(v / 64) {
                Some(w) if *w & (1 << (v % 64)) == 0 => {
                    *w |= 1 << (v % 64);
                    true
                }
                _ => false,
            }
        };
        let mut wanted: foldhash::HashSet<NodeId> = targets.iter().copied().collect();
        let early = !wanted.is_empty();
        // A FIFO of nodes that can have rows (scalars get a parent, no visit).
        let mut queue: Vec<NodeId> = Vec::new();
        for p in &g.pickles {
            if first_sight(p.root) {
                wanted.remove(&p.root);
                if g.nodes.may_have_children(p.root as usize) {
                    queue.push(p.root);
                }
            }
        }
        let mut buf = Vec::new();
        let mut head = 0;
        while let Some(&p) = queue.get(head) {
            if early && wanted.is_empty() {
                break;
            }
            head += 1;
            let mut visit = |i: usize, v: NodeId| {
                if first_sight(v) {
                    link(v, (p, i as u32));
                    wanted.remove(&v);
                    if g.nodes.may_have_children(v as usize) {
                        queue.push(v);
                    }
                }
            };
            if g.nodes.is_container(p as usize) {
                // A container's rows, without building them.
                for (i, e) in own_edges(g, p).enumerate() {
                    visit(i, e.value);
                }
            } else {
                rows_into(g, data, p, &mut buf);
                for (i, r) in buf.iter().enumerate() {
                    visit(i, r.value);
                }
            }
        }
    }

    fn parent_of(&self, id: NodeId) -> Option<(NodeId, u32)> {
        match &self.of {
            Links::All(v) => v.get(id as usize).copied(),
            Links::Some(m) => m.get(&id).copied(),
        }
    }

    fn len(&self) -> usize {
        match &self.of {
            Links::All(v) => v.len(),
            Links::Some(m) => m.len(),
        }
    }

    /// A readable path from the root to `id`, e.g. `_ResultsList__results[0].view`.
    pub fn path(&self, g: &Graph, data: &[u8], id: NodeId) -> String {
        let mut segs = Vec::new();
        let mut cur = id;
        let mut guard = 0usize;
        while let Some((p, i)) = self.parent_of(cur) {
            if p == NO_NODE || guard > self.len() {
                break;
            }
            guard += 1;
            if let Some(r) = rows(g, data, p).get(i as usize) {
                segs.push(path_segment(g, data, r.label));
            }
            cur = p;
        }
        segs.reverse();
        let s = segs.concat();
        s.strip_prefix('.').map(str::to_string).unwrap_or(s)
    }

    /// The path of an attribute row of `instance`.
    pub fn attr_path(&self, g: &Graph, data: &[u8], row: &Row) -> String {
        self.row_path(g, data, row.instance, row)
    }

    /// The path of a row of `parent` (an attribute row hangs off its instance instead).
    pub fn row_path(&self, g: &Graph, data: &[u8], parent: NodeId, row: &Row) -> String {
        let owner = if row.is_attr() { row.instance } else { parent };
        join_path(
            &self.path(g, data, owner),
            &path_segment(g, data, row.label),
        )
    }
}
