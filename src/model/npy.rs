//! NumPy `.npy` arrays, read-only: the header's dtype, shape and order; a numeric array counts
//! its data, an object array (`|O`) is the pickle after the header. Standalone files and
//! `.npz` members ([`super::archive`]) alike.

use std::io::Read;
use std::path::Path;

use super::Model;
use super::doc::{Doc, LoadError};

/// The `.npy` magic.
const MAGIC: &[u8] = b"\x93NUMPY";

/// True when the file at `path` starts with the `.npy` magic.
pub fn is_npy_file(path: &Path) -> bool {
    let mut head = [0u8; 6];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == MAGIC
}

/// Opens `.npy` bytes (shown as `shown`) as a model: an object array's pickle as a tree
/// (`ndarray object (3,) C, pickled`), a numeric array as its data with a summary
/// (`ndarray float64 (3, 4) C`). Bytes without the magic are handed back.
pub fn open_bytes(shown: &Path, bytes: Vec<u8>) -> Result<Result<Model, LoadError>, Vec<u8>> {
    let h = match npy_header(&bytes) {
        None => return Err(bytes),
        Some(Err(message)) => {
            return Ok(Err(LoadError::Npy {
                path: shown.to_path_buf(),
                message,
            }));
        }
        Some(Ok(h)) => h,
    };
    let body = bytes.get(h.data_at..).unwrap_or_default().to_vec();
    if h.descr == "|O" {
        // An object array: the rest is a pickle of it.
        return Ok(Doc::from_bytes(shown, body).map(|mut doc| {
            doc.summary = Some(format!("ndarray {}, pickled", h.describe()));
            Model::new(doc)
        }));
    }
    // Its data counts, not its header (as for an object array, whose pickle counts).
    let summary = format!("ndarray {}", h.describe());
    Ok(Ok(Model::new(Doc::opaque(shown, body, summary))))
}

/// Opens a standalone `.npy` file ([`open_bytes`]); it is read whole.
pub fn open_file(path: &Path) -> Result<Model, LoadError> {
    let raw = super::doc::RawFile::open(path)?;
    let bytes = raw.data().to_vec();
    drop(raw);
    match open_bytes(path, bytes) {
        Ok(m) => m,
        Err(_) => Err(LoadError::Npy {
            path: path.to_path_buf(),
            message: "no .npy magic".into(),
        }),
    }
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
    if !b.starts_with(MAGIC) {
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
