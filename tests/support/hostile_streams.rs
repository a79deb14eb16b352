//! Hostile pickle streams built by hand: checked for bounded memory and work by
//! tests/hostile.rs, timed by benches/hostile.rs.
#![allow(dead_code)]

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub fn rep(b: &[u8], n: usize) -> Vec<u8> {
    b.repeat(n)
}

/// BINUNICODE.
pub fn binunicode(s: &str) -> Vec<u8> {
    let mut v = vec![b'X'];
    v.extend_from_slice(&(s.len() as u32).to_le_bytes());
    v.extend_from_slice(s.as_bytes());
    v
}

/// BINBYTES8 of `n` bytes of `fill`.
pub fn binbytes8(n: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![0x8e];
    v.extend_from_slice(&(n as u64).to_le_bytes());
    v.extend(std::iter::repeat_n(fill, n));
    v
}

/// BINPUT / LONG_BINPUT of key `k`.
pub fn put(k: usize) -> Vec<u8> {
    if k < 256 {
        vec![b'q', k as u8]
    } else {
        cat(&[b"r", &(k as u32).to_le_bytes()])
    }
}

/// BINGET / LONG_BINGET of key `k`.
pub fn get(k: usize) -> Vec<u8> {
    if k < 256 {
        vec![b'h', k as u8]
    } else {
        cat(&[b"j", &(k as u32).to_le_bytes()])
    }
}

/// `__main__.C` with state {x: <defs>, y: [<uses>]}: every memo entry is defined inside `x`
/// (which is cut) and used from `y`, so slimming re-emits them all.
pub fn memo_chain(defs: &[u8], uses: &[u8]) -> Vec<u8> {
    cat(&[
        b"\x80\x02c__main__\nC\n)\x81}(",
        &binunicode("x"),
        defs,
        &binunicode("y"),
        b"(",
        uses,
        b"lub.",
    ])
}

/// [`memo_chain`] of `n` nested 1-tuples, every level memoized inside `x` and each one used
/// from `y`: all definitions start at the same byte.
pub fn tuple_memo_chain(n: usize) -> Vec<u8> {
    let defs = cat(&[
        b"K\x01",
        &put(0),
        &(1..=n)
            .flat_map(|k| cat(&[b"\x85", &put(k)]))
            .collect::<Vec<u8>>(),
    ]);
    let uses: Vec<u8> = (0..=n).flat_map(get).collect();
    memo_chain(&defs, &uses)
}

/// [`memo_chain`] where each definition uses the previous one and only the last is used from
/// `y`: re-emitting it re-emits the whole chain, `n` definitions deep.
pub fn shared_memo_chain(n: usize) -> Vec<u8> {
    let defs = cat(&[
        b"K\x01",
        &put(0),
        &(1..=n)
            .flat_map(|k| cat(&[&get(k - 1), b"\x85", &put(k), b"0"]))
            .collect::<Vec<u8>>(),
    ]);
    memo_chain(&defs, &get(n))
}

/// `depth` instances of distinct classes nested through `a`, every one memoized and fetched
/// again from a list after the root: each class.attr group's span holds all the deeper ones.
pub fn nested_distinct_classes(depth: usize) -> Vec<u8> {
    let mut d = b"\x80\x02(".to_vec();
    for i in 0..depth {
        d.extend_from_slice(format!("c__main__\nC{i}\n").as_bytes());
        d.extend_from_slice(b")\x81");
        d.extend(put(i));
        d.extend_from_slice(b"}(");
        d.extend(binunicode("a"));
    }
    d.push(b'N');
    d.extend(rep(b"ub", depth));
    for i in 0..depth {
        d.extend(get(i));
    }
    d.extend_from_slice(b"l.");
    d
}

/// A list of `n` instances of `n` distinct classes, each with `view` (0-6 bytes) and `keep`.
pub fn classes_with_view(n: usize) -> Vec<u8> {
    let mut d = b"\x80\x02(".to_vec();
    for i in 0..n {
        d.extend_from_slice(format!("c__main__\nC{i}\n").as_bytes());
        d.extend_from_slice(b")\x81}(");
        d.extend(binunicode("view"));
        d.extend(binbytes8(i % 7, b'v'));
        d.extend(binunicode("keep"));
        d.extend_from_slice(b"K\x02ub");
    }
    d.extend_from_slice(b"l.");
    d
}

/// `n` instances whose class (STACK_GLOBAL of a memoized 1 MiB module string) and attribute
/// name (a memoized 1 MiB key) are the same huge strings.
pub fn megabyte_names(n: usize) -> Vec<u8> {
    let huge = "m".repeat(1 << 20);
    let mut d = cat(&[
        b"\x80\x04",
        &binunicode(&huge),
        b"\x94",
        &binunicode("C"),
        b"\x94",
        &binunicode(&huge),
        b"\x94(",
    ]);
    d.extend(rep(b"h\x00h\x01\x93)\x81}h\x02K\x01sb", n));
    d.extend_from_slice(b"l.");
    d
}
