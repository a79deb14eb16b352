//! numpy values: dtypes, C-contiguous arrays with given or generated data (written as they are
//! generated, never held whole), and which numpy module paths a flavour pickles.

use std::io::{self, Write};

use super::invalid;

/// numpy dtypes the generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F8,
    F4,
    I8,
    I4,
    Bool,
    U1,
    C16,
}

impl DType {
    /// The dtype string numpy's `dtype.__reduce__` gives (`'f8'`, `'b1'`, ...).
    pub fn code(self) -> &'static str {
        match self {
            DType::F8 => "f8",
            DType::F4 => "f4",
            DType::I8 => "i8",
            DType::I4 => "i4",
            DType::Bool => "b1",
            DType::U1 => "u1",
            DType::C16 => "c16",
        }
    }
    /// The byte-order character of the dtype state (`'<'` or `'|'`).
    pub fn byteorder(self) -> &'static str {
        match self {
            DType::Bool | DType::U1 => "|",
            _ => "<",
        }
    }
    pub fn itemsize(self) -> usize {
        match self {
            DType::F8 | DType::I8 => 8,
            DType::F4 | DType::I4 => 4,
            DType::Bool | DType::U1 => 1,
            DType::C16 => 16,
        }
    }
}

/// A C-contiguous numpy array.
#[derive(Debug, Clone)]
pub struct NdArray {
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub data: ArrayData,
}

/// The raw bytes of an array: given, or generated on the fly while writing (so a large array
/// never sits in memory).
#[derive(Debug, Clone)]
pub enum ArrayData {
    Bytes(Vec<u8>),
    Synth { seed: u64, fill: Fill },
}

/// How generated array elements look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    Zeros,
    /// Roughly normal noise (floats; complex: both parts; ints: rounded).
    Noise {
        mean: f64,
        sigma: f64,
    },
    /// `start + i * step`.
    Arange {
        start: f64,
        step: f64,
    },
    /// Mostly zero; each element is non-zero (1, or a small code for ints) with this
    /// probability.
    Sparse {
        density: f64,
    },
}

impl NdArray {
    /// An array whose data is generated while writing.
    pub fn synth(dtype: DType, shape: &[u64], seed: u64, fill: Fill) -> NdArray {
        NdArray {
            dtype,
            shape: shape.to_vec(),
            data: ArrayData::Synth { seed, fill },
        }
    }

    /// An array with the given raw (little-endian) bytes.
    pub fn from_bytes(dtype: DType, shape: &[u64], raw: Vec<u8>) -> NdArray {
        NdArray {
            dtype,
            shape: shape.to_vec(),
            data: ArrayData::Bytes(raw),
        }
    }

    /// Number of elements, or `None` on overflow.
    pub fn len(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d))
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Size of the raw data in bytes, or `None` on overflow.
    pub fn nbytes(&self) -> Option<u64> {
        self.len()?.checked_mul(self.dtype.itemsize() as u64)
    }

    pub(super) fn checked_nbytes(&self) -> io::Result<usize> {
        let n = self
            .nbytes()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| invalid("array size overflows"))?;
        if let ArrayData::Bytes(b) = &self.data
            && b.len() != n
        {
            return Err(invalid(format!(
                "array data has {} bytes, shape and dtype need {n}",
                b.len()
            )));
        }
        Ok(n)
    }

    /// Writes the raw data, generating it in chunks if synthetic.
    pub fn write_data(&self, w: &mut dyn Write) -> io::Result<()> {
        let n = self.checked_nbytes()?;
        match &self.data {
            ArrayData::Bytes(b) => w.write_all(b),
            ArrayData::Synth { seed, fill } => {
                let mut g = ElemGen::new(self.dtype, *seed, *fill);
                let mut buf = Vec::with_capacity(64 * 1024);
                let mut left = n;
                while left > 0 {
                    buf.clear();
                    let want = left.min(64 * 1024);
                    while buf.len() < want {
                        g.push(&mut buf);
                    }
                    buf.truncate(want);
                    w.write_all(&buf)?;
                    left -= want;
                }
                Ok(())
            }
        }
    }
}

/// A deterministic xorshift64* generator (no external crates), seeded through splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n) (n > 0; 0 gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    /// Approximately normal (Irwin–Hall of 4 uniforms, rescaled).
    pub fn normal(&mut self, mean: f64, sigma: f64) -> f64 {
        let s = self.f64() + self.f64() + self.f64() + self.f64() - 2.0;
        mean + sigma * s * 1.732_050_807_568_877_2
    }
}

struct ElemGen {
    dtype: DType,
    fill: Fill,
    rng: Rng,
    i: u64,
}

impl ElemGen {
    fn new(dtype: DType, seed: u64, fill: Fill) -> ElemGen {
        ElemGen {
            dtype,
            fill,
            rng: Rng::new(seed),
            i: 0,
        }
    }

    fn value(&mut self) -> f64 {
        let i = self.i as f64;
        match self.fill {
            Fill::Zeros => 0.0,
            Fill::Noise { mean, sigma } => self.rng.normal(mean, sigma),
            Fill::Arange { start, step } => start + i * step,
            Fill::Sparse { density } => {
                if self.rng.f64() < density {
                    1.0 + self.rng.below(3) as f64
                } else {
                    0.0
                }
            }
        }
    }

    pub(super) fn push(&mut self, buf: &mut Vec<u8>) {
        let v = self.value();
        match self.dtype {
            DType::F8 => buf.extend_from_slice(&v.to_le_bytes()),
            DType::F4 => buf.extend_from_slice(&(v as f32).to_le_bytes()),
            DType::I8 => buf.extend_from_slice(&(v.round() as i64).to_le_bytes()),
            DType::I4 => buf.extend_from_slice(&(v.round() as i32).to_le_bytes()),
            DType::Bool => buf.push(u8::from(v != 0.0)),
            DType::U1 => buf.push(v.round().clamp(0.0, 255.0) as u8),
            DType::C16 => {
                let im = match self.fill {
                    Fill::Noise { sigma, .. } => self.rng.normal(0.0, sigma),
                    _ => 0.0,
                };
                buf.extend_from_slice(&v.to_le_bytes());
                buf.extend_from_slice(&im.to_le_bytes());
            }
        }
        self.i += 1;
    }
}

/// Which numpy wrote the pickle: module paths of `_frombuffer`, `_reconstruct`, `scalar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumpyFlavor {
    /// numpy 1.x: `numpy.core.numeric`, `numpy.core.multiarray`.
    #[default]
    Numpy1,
    /// numpy 2.x: `numpy._core.numeric`, `numpy._core.multiarray`.
    Numpy2,
}

impl NumpyFlavor {
    pub(super) fn numeric(self) -> &'static str {
        match self {
            NumpyFlavor::Numpy1 => "numpy.core.numeric",
            NumpyFlavor::Numpy2 => "numpy._core.numeric",
        }
    }
    pub(super) fn multiarray(self) -> &'static str {
        match self {
            NumpyFlavor::Numpy1 => "numpy.core.multiarray",
            NumpyFlavor::Numpy2 => "numpy._core.multiarray",
        }
    }
}
