//! Python meaning of call nodes: which class an instance is, and numpy array summaries.

use crate::pickle::value::{global_name, int_value, str_value, text};
use crate::pickle::{CallKind, Graph, Kind, NO_NODE, NodeId};

/// The class an object node is an instance of (`module.qualname`), if it is an instance.
pub fn class_of(g: &Graph, data: &[u8], id: NodeId) -> Option<String> {
    let Kind::Call {
        how,
        callable,
        args,
        ..
    } = g.get(id)?.kind
    else {
        return None;
    };
    let name = global_name(g, data, callable);
    match how {
        CallKind::Reduce => {
            let f = name?;
            if f == "copyreg._reconstructor" || f == "copy_reg._reconstructor" {
                let first = g.children(args).first().map(|e| e.value)?;
                return global_name(g, data, first);
            }
            if is_numpy_array_ctor(&f) {
                return Some("numpy.ndarray".into());
            }
            Some(f)
        }
        _ => Some(name.unwrap_or_else(|| "?".into())),
    }
}

/// The last component of a dotted class name.
pub fn short_name(full: &str) -> &str {
    full.rsplit('.').next().unwrap_or(full)
}

fn is_numpy_array_ctor(f: &str) -> bool {
    matches!(
        f,
        "numpy.core.multiarray._reconstruct"
            | "numpy._core.multiarray._reconstruct"
            | "numpy.core.numeric._frombuffer"
            | "numpy._core.numeric._frombuffer"
    )
}

/// True when `id` is a call of a numpy array or scalar constructor (no allocation: compares
/// the callable's name bytes in place).
pub fn is_numpy_array(g: &Graph, data: &[u8], id: NodeId) -> bool {
    let Some(Kind::Call { callable, .. }) = g.get(id).map(|n| n.kind) else {
        return false;
    };
    let Some(Kind::Global { module, name }) = g.get(callable).map(|n| n.kind) else {
        return false;
    };
    let bytes = |t: crate::pickle::TextRef| {
        data.get(t.start as usize..(t.start + t.len as u64) as usize)
            .unwrap_or(&[])
    };
    bytes(module).starts_with(b"numpy")
        && matches!(bytes(name), b"_reconstruct" | b"_frombuffer" | b"scalar")
}

/// What a numpy array (or numpy scalar) looks like, read from its pickled form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArraySummary {
    /// numpy's name for the element type, e.g. `float64`.
    pub dtype: String,
    pub shape: Vec<u64>,
    /// 'C' or 'F'.
    pub order: char,
    /// Bytes of element data.
    pub data_bytes: u64,
    /// True for a numpy scalar (`numpy.core.multiarray.scalar`).
    pub scalar: bool,
}

impl ArraySummary {
    /// `float64 (480, 1849) C`.
    pub fn describe(&self) -> String {
        if self.scalar {
            return format!("{} scalar", self.dtype);
        }
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        format!("{} {} {}", self.dtype, shape, self.order)
    }
}

fn items(g: &Graph, id: NodeId) -> Vec<NodeId> {
    g.children(id).iter().map(|e| e.value).collect()
}

/// Summarises a numpy array node (protocol 2–4 `_reconstruct` or protocol 5 `_frombuffer`).
pub fn array_summary(g: &Graph, data: &[u8], id: NodeId) -> Option<ArraySummary> {
    let n = g.get(id)?;
    let Kind::Call {
        how: CallKind::Reduce,
        callable,
        args,
        ..
    } = n.kind
    else {
        return None;
    };
    let f = global_name(g, data, callable)?;
    match f.as_str() {
        "numpy.core.multiarray._reconstruct" | "numpy._core.multiarray._reconstruct" => {
            // BUILD state: (version, shape, dtype, is_fortran, rawdata)
            let st = items(g, n.state);
            let (shape_n, dtype_n, fortran_n, raw_n) = match st.len() {
                5 => (st[1], st[2], st[3], st[4]),
                4 => (st[0], st[1], st[2], st[3]),
                _ => return None,
            };
            let shape = int_items(g, data, shape_n);
            let (dtype, itemsize) = dtype_of(g, data, dtype_n);
            let order = match g.get(fortran_n).map(|x| x.kind) {
                Some(Kind::Bool(true)) => 'F',
                _ => 'C',
            };
            let data_bytes =
                payload_len(g, raw_n).unwrap_or_else(|| shape.iter().product::<u64>() * itemsize);
            Some(ArraySummary {
                dtype,
                shape,
                order,
                data_bytes,
                scalar: false,
            })
        }
        "numpy.core.numeric._frombuffer" | "numpy._core.numeric._frombuffer" => {
            let a = items(g, args);
            if a.len() < 4 {
                return None;
            }
            let (dtype, itemsize) = dtype_of(g, data, a[1]);
            let shape = int_items(g, data, a[2]);
            let order = str_value(g, data, a[3])
                .and_then(|s| s.chars().next())
                .unwrap_or('C');
            let data_bytes =
                payload_len(g, a[0]).unwrap_or_else(|| shape.iter().product::<u64>() * itemsize);
            Some(ArraySummary {
                dtype,
                shape,
                order,
                data_bytes,
                scalar: false,
            })
        }
        "numpy.core.multiarray.scalar" | "numpy._core.multiarray.scalar" => {
            let a = items(g, args);
            let (dtype, itemsize) = dtype_of(g, data, *a.first()?);
            Some(ArraySummary {
                dtype,
                shape: Vec::new(),
                order: 'C',
                data_bytes: a
                    .get(1)
                    .and_then(|&b| payload_len(g, b))
                    .unwrap_or(itemsize),
                scalar: true,
            })
        }
        _ => None,
    }
}

fn payload_len(g: &Graph, id: NodeId) -> Option<u64> {
    match g.get(id)?.kind {
        Kind::Bytes { payload } | Kind::ByteArray { payload } => Some(payload.len()),
        _ => None,
    }
}

fn int_items(g: &Graph, data: &[u8], id: NodeId) -> Vec<u64> {
    g.children(id)
        .iter()
        .filter_map(|e| match g.get(e.value)?.kind {
            Kind::Int { payload } => int_value(data, g.node(e.value).op, payload),
            _ => None,
        })
        .map(|v| v.max(0) as u64)
        .collect()
}

/// The numpy name and item size of a pickled `numpy.dtype(...)` node.
pub fn dtype_of(g: &Graph, data: &[u8], id: NodeId) -> (String, u64) {
    let Some(Kind::Call { args, .. }) = g.get(id).map(|n| n.kind) else {
        return ("?".into(), 0);
    };
    let a = items(g, args);
    let code = a
        .first()
        .and_then(|&c| str_value(g, data, c))
        .map(|s| s.into_owned())
        .unwrap_or_default();
    // BUILD state (3, '<', ...) gives the byte order; '|' means not applicable.
    let order = g
        .get(id)
        .map(|n| n.state)
        .filter(|&s| s != NO_NODE)
        .and_then(|s| g.children(s).get(1).map(|e| e.value))
        .and_then(|o| match g.get(o)?.kind {
            Kind::Str(t) => Some(text(data, t).into_owned()),
            _ => None,
        })
        .unwrap_or_default();
    let (name, size) = dtype_name(&code);
    let name = if order == ">" {
        format!(">{name}")
    } else {
        name
    };
    (name, size)
}

fn dtype_name(code: &str) -> (String, u64) {
    let (kind, digits) = code.split_at(
        code.find(|c: char| c.is_ascii_digit())
            .unwrap_or(code.len()),
    );
    let n: u64 = digits.parse().unwrap_or(0);
    let name = match kind {
        "f" => format!("float{}", n * 8),
        "i" => format!("int{}", n * 8),
        "u" => format!("uint{}", n * 8),
        "c" => format!("complex{}", n * 8),
        "b" => "bool".into(),
        "O" => "object".into(),
        "U" => return (format!("<U{}", n / 4), n),
        "S" => return (format!("|S{n}"), n),
        "V" => return (format!("void{}", n * 8), n),
        "M" => "datetime64".into(),
        "m" => "timedelta64".into(),
        _ => code.to_string(),
    };
    (name, n)
}
