//! Appending a node's edges to the arena as a machine makes them, and gathering the edges of
//! nodes whose batches arrived interleaved with others' (shared by both machines).

use super::graph::{Edge, EdgeRange, Graph, NodeId};

/// Earlier edge batches of nodes whose edges arrived with others' in between:
/// `(node, start, len)`, gathered by [`gather`].
pub type Pieces = Vec<(NodeId, u32, u32)>;

/// Makes `parent`'s edge range end where the next edge goes, so edges can be appended to it;
/// returns its slot (`None` for a parent out of range).
#[inline]
pub fn open(g: &mut Graph, pieces: &mut Pieces, parent: NodeId) -> Option<u32> {
    let end = g.edges.len();
    let slot = g.nodes.slot_for_edges(parent as usize)?;
    if let Some(r) = g.nodes.slot_range(slot) {
        if r.len == 0 {
            r.start = end as u32;
        } else if (r.start + r.len) as usize != end {
            pieces.push((parent, r.start, r.len));
            *r = EdgeRange {
                start: end as u32,
                len: 0,
            };
        }
    }
    Some(slot)
}

/// Appends one edge to the range in `slot` (after [`open`]).
#[inline]
pub fn push(g: &mut Graph, slot: Option<u32>, e: Edge) {
    if let Some(r) = slot.and_then(|s| g.nodes.slot_range(s)) {
        r.len += 1;
        g.edges.push(e);
    }
}

/// Gathers the edges of every node whose batches were interleaved with others' at the end,
/// in stream order.
pub fn gather(g: &mut Graph, pieces: &mut Pieces) {
    // Stable: a node's pieces stay in stream order.
    pieces.sort_by_key(|p| p.0);
    let mut k = 0;
    while k < pieces.len() {
        let node = pieces[k].0;
        let start = g.edges.len();
        while let Some(&(n, a, len)) = pieces.get(k)
            && n == node
        {
            g.edges
                .extend_from_within(a as usize..a as usize + len as usize);
            k += 1;
        }
        if let Some(r) = g
            .nodes
            .slot_for_edges(node as usize)
            .and_then(|s| g.nodes.slot_range(s))
        {
            let (a, len) = (r.start as usize, r.len as usize);
            g.edges.extend_from_within(a..a + len);
            *r = EdgeRange {
                start: start as u32,
                len: (g.edges.len() - start) as u32,
            };
        }
    }
}
