//! Pickles held in a `bytes` value (plain at any protocol, or bzip2/zlib/gzip/xz-compressed as
//! the pipeline's `CompressedObj` stores one), opened as models of their own.

use super::codec::{self, Limits};
use super::doc::{Doc, LoadError};
use super::sniff::{self, Format};
use super::sparse::LARGE_PAYLOAD;
use super::{Compressed, Model};
use crate::pickle::{Kind, NodeId, Op, Span};

/// How a `bytes` value holds a pickle, from its first bytes: `Some(None)` plain (PROTO
/// 2-5), `Some(Some(codec))` compressed; `None` when it does not look like one.
pub fn looks_like_pickle(head: &[u8]) -> Option<Option<Format>> {
    match head {
        [0x80, p, ..] if (2..=5).contains(p) => Some(None),
        _ => sniff::magic(head)
            .filter(|f| f.is_codec() && *f != Format::Lzma)
            .map(Some),
    }
}

/// Largest payload checked for a protocol 0-1 pickle (which has no magic: it is parsed).
/// Below the size a sparse or windowed read leaves in the file, so every read sees it whole.
const OLD_PROTOCOL_MAX: usize = LARGE_PAYLOAD as usize - 1;

/// How a `bytes` payload holds a pickle ([`looks_like_pickle`] on its first bytes), or, for
/// one of at most 16 KiB, a protocol 0-1 pickle: it starts with an opcode that opens a
/// container or names a class, ends with STOP, and parses as exactly one pickle of protocol
/// 0 or 1 whose root is a container or an object (text that happens to parse as a scalar
/// is not offered).
pub fn pickle_in(payload: &[u8]) -> Option<Option<Format>> {
    if let Some(k) = looks_like_pickle(&payload[..payload.len().min(16)]) {
        return Some(k);
    }
    old_protocol(payload).then_some(None)
}

fn old_protocol(b: &[u8]) -> bool {
    if b.len() < 4 || b.len() > OLD_PROTOCOL_MAX || b.last() != Some(&(Op::STOP as u8)) {
        return false;
    }
    let opens = [
        Op::MARK,
        Op::EMPTY_LIST,
        Op::EMPTY_DICT,
        Op::EMPTY_TUPLE,
        Op::GLOBAL,
        Op::INST,
    ];
    if !opens.iter().any(|o| b[0] == *o as u8) {
        return false;
    }
    let Ok((g, _)) = crate::pickle::parse(b) else {
        return false;
    };
    g.pickles.len() == 1
        && g.trailing.is_none()
        && g.pickles[0].protocol <= 1
        && g.get(g.root()).is_some_and(|n| {
            matches!(
                n.kind,
                Kind::List | Kind::Dict | Kind::Tuple | Kind::Set | Kind::Call { .. }
            )
        })
}

/// The Python module whose `decompress` reads `format` (for paths: `bz2.decompress(...)`).
pub fn python_module(format: Format) -> &'static str {
    match format {
        Format::Bzip2 => "bz2",
        Format::Xz | Format::Lzma => "lzma",
        Format::Lz4 => "lz4.frame",
        f => f.name(),
    }
}

/// The payload of a `bytes`/`bytearray` node.
pub fn bytes_payload(m: &Model, id: NodeId) -> Option<Span> {
    match m.graph().get(id)?.kind {
        Kind::Bytes { payload } | Kind::ByteArray { payload } => Some(payload),
        _ => None,
    }
}

/// What a `bytes` node holds, when it looks like a pickle (for the type column): `pickle`,
/// `bz2 pickle`...
pub fn nested_hint(m: &Model, id: NodeId) -> Option<String> {
    let p = bytes_payload(m, id)?;
    Some(match pickle_in(m.data().get(p.range())?)? {
        None => "pickle".to_string(),
        Some(f) => format!("{} pickle?", f.name()),
    })
}

/// Opens the pickle a `bytes` node holds: `None` when it does not look like one, else the
/// model or why it could not be read. `name` names it in messages (its path).
pub fn open_nested(m: &Model, id: NodeId, name: &str) -> Option<Result<Model, LoadError>> {
    let p = bytes_payload(m, id)?;
    let codec = pickle_in(m.data().get(p.range())?)?;
    Some(read(m, p, codec, name))
}

fn read(m: &Model, p: Span, codec: Option<Format>, name: &str) -> Result<Model, LoadError> {
    let path = m.doc.path.join(name);
    let io = |source| LoadError::Io {
        path: path.clone(),
        source,
    };
    // A large file read sparsely holds only the first bytes of its payloads: copy them out.
    let mut raw: Vec<u8> = Vec::new();
    m.doc
        .bytes()
        .copy_range(p.start as usize..p.end as usize, &mut |b| {
            raw.extend_from_slice(b);
            Ok(())
        })
        .map_err(io)?;
    let Some(format) = codec else {
        return Doc::from_bytes(&path, raw).map(Model::new);
    };
    let content = codec::inflate_slice(format, &raw, &Limits::from_env()).map_err(|source| {
        LoadError::Inflate {
            path: path.clone(),
            source,
        }
    })?;
    let mut doc = Doc::from_bytes(&path, content)?;
    doc.compressed = Some(Compressed {
        format,
        disk_bytes: raw.len() as u64,
    });
    Ok(Model::new(doc))
}

/// A pickle held in an instance attribute's `bytes` value, as `report` lists it.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct NestedPickle {
    /// The attribute's path (the explorer opens the value with `⏎`).
    pub path: String,
    /// Bytes the value takes in the file: counted there once, as bytes; the objects inside
    /// are not added to any class.attr group (slim cannot remove them).
    pub bytes: u64,
    /// Its compression (`bzip2`, `zlib`...), when it is compressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<&'static str>,
}

/// The `n` largest `bytes` attribute values of `m`'s instances that hold pickles (see
/// [`pickle_in`]), largest first, and how many there are in all.
pub fn in_attributes(m: &Model, n: usize) -> (Vec<NestedPickle>, usize) {
    let groups = m.groups();
    // (row, bytes of the value, codec)
    let mut found: Vec<(crate::model::Row, u64, Option<Format>)> = Vec::new();
    for a in &groups.attrs {
        let Some(p) = bytes_payload(m, a.row.value) else {
            continue;
        };
        if let Some(codec) = m.data().get(p.range()).and_then(pickle_in) {
            let len = m.graph().get(a.row.value).map_or(p.len(), |v| v.span.len());
            found.push((a.row, len, codec));
        }
    }
    let all = found.len();
    found.sort_by_key(|(_, len, _)| std::cmp::Reverse(*len));
    found.truncate(n);
    let rows: Vec<_> = found.iter().map(|(r, _, _)| *r).collect();
    let paths = m.attr_paths(&rows);
    let list = found
        .into_iter()
        .zip(paths)
        .map(|((_, bytes, codec), path)| NestedPickle {
            path,
            bytes,
            codec: codec.map(Format::name),
        })
        .collect();
    (list, all)
}
