//! Zip containers, read-only: members listed, PyTorch checkpoints (`<name>/data.pkl` with its
//! storages sized) and `.npz`/`.npy` members (dtype and shape; object arrays hold pickles).

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::codec::{InflateError, Limits};
use super::doc::{Doc, LoadError};
use super::sniff::Format;
use super::{External, ExternalItem, Model};
use crate::pickle::value::{name_value, str_value};
use crate::pickle::{Graph, Kind, NodeId};

/// At most this many members are listed (a central directory of millions of entries is
/// refused rather than listed).
pub const MAX_MEMBERS: usize = 100_000;

/// One member of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// Uncompressed size as the central directory states it.
    pub size: u64,
    pub compressed: u64,
}

/// What kind of archive it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A `torch.save` checkpoint: `<prefix>/data.pkl` and storages `<prefix>/data/<key>`.
    Torch {
        prefix: String,
    },
    /// NumPy's `savez`: `.npy` members.
    Npz,
    Other,
}

/// The members of a zip file.
#[derive(Debug, Clone)]
pub struct Listing {
    pub members: Vec<Member>,
    pub layout: Layout,
}

impl Listing {
    /// The members to open as files: a checkpoint's `data.pkl` (its storages are sized through
    /// it), else every member that is not a directory.
    pub fn to_open(&self) -> Vec<String> {
        match &self.layout {
            Layout::Torch { prefix } => vec![format!("{prefix}/data.pkl")],
            _ => self
                .members
                .iter()
                .filter(|m| !m.name.ends_with('/'))
                .map(|m| m.name.clone())
                .collect(),
        }
    }

    fn size_of(&self, name: &str) -> Option<u64> {
        self.members.iter().find(|m| m.name == name).map(|m| m.size)
    }
}

/// True when the file starts like a zip archive.
pub fn is_zip(path: &Path) -> bool {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && super::sniff::magic(&head) == Some(Format::Zip)
}

fn bad(path: &Path, e: impl std::fmt::Display) -> LoadError {
    LoadError::Archive {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<File>, LoadError> {
    let f = File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    zip::ZipArchive::new(f).map_err(|e| bad(path, e))
}

/// Lists a zip file's members and recognises its layout.
pub fn list(path: &Path) -> Result<Listing, LoadError> {
    let mut z = open_zip(path)?;
    if z.len() > MAX_MEMBERS {
        return Err(bad(
            path,
            format!("{} members, more than the {MAX_MEMBERS} read", z.len()),
        ));
    }
    let mut members = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        let f = z.by_index_raw(i).map_err(|e| bad(path, e))?;
        let name = f.name().map_err(|e| bad(path, e))?.into_owned();
        members.push(Member {
            name,
            size: f.size(),
            compressed: f.compressed_size(),
        });
    }
    let torch = members.iter().find_map(|m| {
        let prefix = m.name.strip_suffix("/data.pkl")?;
        (!prefix.contains('/')).then(|| prefix.to_string())
    });
    let layout = match torch {
        Some(prefix) => Layout::Torch { prefix },
        None if !members.is_empty()
            && members
                .iter()
                .all(|m| m.name.ends_with(".npy") || m.name.ends_with('/')) =>
        {
            Layout::Npz
        }
        None => Layout::Other,
    };
    Ok(Listing { members, layout })
}

/// Reads one member whole, within the decompression limits (the sizes the archive states are
/// not trusted: the read stops one byte past the limit).
pub fn read_member(path: &Path, name: &str, limits: &Limits) -> Result<Vec<u8>, LoadError> {
    let mut z = open_zip(path)?;
    let mut f = z
        .by_name(name)
        .map_err(|e| bad(path, format!("{name}: {e}")))?;
    let cap = limits.cap(f.compressed_size());
    let mut out = Vec::new();
    (&mut f)
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| bad(path, format!("{name}: {e}")))?;
    if out.len() as u64 > cap {
        return Err(LoadError::Inflate {
            path: member_path(path, name),
            source: InflateError::TooLarge {
                format: Format::Zip,
                cap,
                compressed: f.compressed_size(),
                ratio: cap / f.compressed_size().max(1),
            },
        });
    }
    Ok(out)
}

/// How a member is named in messages and reports: `x.pt/archive/data.pkl`.
pub fn member_path(path: &Path, name: &str) -> PathBuf {
    path.join(name)
}

/// Opens one member as a model: a pickle (a checkpoint's `data.pkl` with its storages sized),
/// an object array's pickle, or a numeric `.npy` array (no pickle: its summary and size).
pub fn open_member(path: &Path, name: &str) -> Result<Model, LoadError> {
    let listing = list(path)?;
    let bytes = read_member(path, name, &Limits::from_env())?;
    let shown = member_path(path, name);
    if let Some(h) = npy_header(&bytes) {
        let h = h.map_err(|e| bad(&shown, e))?;
        if h.descr == "|O" {
            // An object array: the rest is a pickle of it.
            let body = bytes.get(h.data_at..).unwrap_or_default().to_vec();
            let mut doc = Doc::from_bytes(&shown, body)?;
            doc.summary = Some(format!("ndarray {}, pickled", h.describe()));
            return Ok(Model::new(doc));
        }
        // Its data counts, not its header (as for an object array, whose pickle counts).
        let summary = format!("ndarray {}", h.describe());
        let data = bytes.get(h.data_at..).unwrap_or_default().to_vec();
        return Ok(Model::new(Doc::opaque(&shown, data, summary)));
    }
    let doc = Doc::from_bytes(&shown, bytes)?;
    let external = match &listing.layout {
        Layout::Torch { prefix } if name == format!("{prefix}/data.pkl") => {
            torch_storages(&doc.graph, doc.data(), |key| {
                listing.size_of(&format!("{prefix}/data/{key}"))
            })
        }
        _ => External::default(),
    };
    Ok(Model::with_external(doc, external))
}

/// The storages a checkpoint's pickle names: every `('storage', type, key, location, numel)`
/// persistent id whose key has a member, sized by it; a storage named again (views sharing
/// it) counts at its first reference only.
fn torch_storages(g: &Graph, data: &[u8], size_of: impl Fn(&str) -> Option<u64>) -> External {
    let mut by_key: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<ExternalItem> = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let Kind::PersId { pid, .. } = n.kind else {
            continue;
        };
        let Some(key) = storage_key(g, data, pid) else {
            continue;
        };
        let pos = n.span.end.saturating_sub(1);
        if let Some(&k) = by_key.get(&key) {
            out[k].refs.push(pos);
            continue;
        }
        let Some(bytes) = size_of(&key) else { continue };
        by_key.insert(key.clone(), out.len());
        out.push(ExternalItem {
            pos,
            node: i as NodeId,
            key,
            bytes,
            refs: vec![pos],
        });
    }
    for item in &mut out {
        item.refs.sort_unstable();
    }
    External::new(out)
}

fn storage_key(g: &Graph, data: &[u8], pid: NodeId) -> Option<String> {
    let n = g.get(pid)?;
    if !matches!(n.kind, Kind::Tuple) {
        return None;
    }
    let items = g.children(pid);
    let tag = str_value(g, data, items.first()?.value)?;
    if tag != "storage" {
        return None;
    }
    let key: Cow<str> = name_value(g, data, items.get(2)?.value)?;
    Some(key.into_owned())
}

/// A tensor of a checkpoint and the bytes of the storage it names first.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct TensorSize {
    /// Its path in the pickle (`["encoder.weight"]`).
    pub path: String,
    /// The storage's key (member `<name>/data/<key>`).
    pub key: String,
    pub bytes: u64,
}

/// The `n` largest tensors of a checkpoint's pickle by their storages, largest first.
pub fn largest_tensors(m: &Model, n: usize) -> Vec<TensorSize> {
    let mut items: Vec<&ExternalItem> = m.external.items.iter().collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.bytes));
    items.truncate(n);
    items
        .into_iter()
        .map(|i| {
            let p = m.path(i.node);
            // The persistent id is the first argument of the call that rebuilds the tensor.
            let path = p
                .strip_suffix(".__reduce__()[1][0]")
                .map(str::to_string)
                .unwrap_or(p);
            TensorSize {
                path,
                key: i.key.clone(),
                bytes: i.bytes,
            }
        })
        .collect()
}

/// A `.npy` header: dtype, order and shape, and where the data starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    pub descr: String,
    pub fortran: bool,
    pub shape: Vec<u64>,
    pub data_at: usize,
}

impl NpyHeader {
    /// `float64 (3, 4) C`, as the tree shows pickled arrays.
    pub fn describe(&self) -> String {
        let shape = match self.shape.len() {
            1 => format!("({},)", self.shape[0]),
            _ => format!(
                "({})",
                self.shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let order = if self.fortran { "F" } else { "C" };
        format!("{} {shape} {order}", dtype_name(&self.descr))
    }
}

/// NumPy's name for a simple type string (`<f8` → `float64`); others as they are.
fn dtype_name(descr: &str) -> String {
    let t = descr.trim_start_matches(['<', '>', '|', '=']);
    let (kind, size) = t.split_at(t.len().min(1));
    let bits = size.parse::<u32>().ok().map(|b| b * 8);
    match (kind, bits) {
        ("f", Some(b)) => format!("float{b}"),
        ("i", Some(b)) => format!("int{b}"),
        ("u", Some(b)) => format!("uint{b}"),
        ("c", Some(b)) => format!("complex{b}"),
        ("b", Some(8)) => "bool".into(),
        ("O", _) => "object".into(),
        _ => descr.to_string(),
    }
}

/// The header of `.npy` bytes: `None` when they do not start with the magic, an error when
/// the header is malformed.
pub fn npy_header(b: &[u8]) -> Option<Result<NpyHeader, String>> {
    if !b.starts_with(b"\x93NUMPY") {
        return None;
    }
    Some(parse_npy(b))
}

fn parse_npy(b: &[u8]) -> Result<NpyHeader, String> {
    let short = || "truncated .npy header".to_string();
    let major = *b.get(6).ok_or_else(short)?;
    let (len, at): (usize, usize) = match major {
        1 => (
            u16::from_le_bytes([*b.get(8).ok_or_else(short)?, *b.get(9).ok_or_else(short)?])
                as usize,
            10,
        ),
        2 | 3 => {
            let x: [u8; 4] = b
                .get(8..12)
                .ok_or_else(short)?
                .try_into()
                .map_err(|_| short())?;
            (u32::from_le_bytes(x) as usize, 12)
        }
        v => return Err(format!(".npy format version {v} is not known")),
    };
    let text = b.get(at..at.saturating_add(len)).ok_or_else(short)?;
    let text = String::from_utf8_lossy(text);
    let field = |k: &str| -> Option<&str> {
        let i = text.find(&format!("'{k}'"))?;
        let rest = text[i + k.len() + 2..].trim_start().strip_prefix(':')?;
        Some(rest.trim_start())
    };
    let descr = field("descr")
        .and_then(|r| {
            let q = r.chars().next()?;
            let r = &r[1..];
            Some(r[..r.find(q)?].to_string())
        })
        .ok_or_else(|| format!("no dtype in .npy header {text:?}"))?;
    let fortran = field("fortran_order").is_some_and(|r| r.starts_with("True"));
    let shape = field("shape")
        .and_then(|r| {
            let r = r.strip_prefix('(')?;
            let inner = &r[..r.find(')')?];
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_end_matches('L').parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()
        })
        .ok_or_else(|| format!("no shape in .npy header {text:?}"))?;
    Ok(NpyHeader {
        descr,
        fortran,
        shape,
        data_at: at + len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_headers_give_dtype_shape_and_order() {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        let p = npy_header(&b).and_then(Result::ok);
        assert_eq!(
            p.as_ref().map(NpyHeader::describe).as_deref(),
            Some("float64 (3, 4) C")
        );
        assert_eq!(p.map(|p| p.data_at), Some(b.len()));
        let one = "{'descr': '|O', 'fortran_order': True, 'shape': (5,), }";
        let mut b = b"\x93NUMPY\x02\x00".to_vec();
        b.extend_from_slice(&(one.len() as u32).to_le_bytes());
        b.extend_from_slice(one.as_bytes());
        let p = npy_header(&b).and_then(Result::ok);
        assert_eq!(p.map(|p| p.describe()).as_deref(), Some("object (5,) F"));
        assert!(npy_header(b"\x93NUMPY\x07\x00").is_some_and(|r| r.is_err()));
        assert!(npy_header(b"\x80\x04").is_none());
    }
}
