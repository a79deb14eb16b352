//! Zip containers, read-only: members listed, PyTorch checkpoints (`<name>/data.pkl` with its
//! storages sized) and `.npz` members (`.npy` arrays, read by [`super::npy`]).

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
    let bytes = match super::npy::open_bytes(&shown, bytes) {
        Ok(m) => return m,
        Err(bytes) => bytes,
    };
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
