//! Where a report's time and memory go on one file, full parse against lean parse.
//!
//!     cargo build --release --example engine_breakdown
//!     target/release/examples/engine_breakdown FILE [full|lean|both]
//!
//! Prints, for each engine: the time to read the file, to parse it (the lean parse reads a
//! large file in windows as `report` does: its reads are in the parse time), to build the memo index,
//! the class.attr groups with retained sizes and the largest attributes with their paths;
//! the bytes each part of the graph holds (capacity) and the process's peak RSS so far.

use std::process::ExitCode;
use std::time::Instant;

use picklescope::model::{Doc, Model, RawFile};

#[global_allocator]
static ALLOC: picklescope::alloc::HugeBlocks = picklescope::alloc::HugeBlocks;

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn run(path: &std::path::Path, lean: bool) -> Result<(), String> {
    let name = if lean { "lean" } else { "full" };
    let t = Instant::now();
    let (doc, read, held) = if lean {
        // As `report` reads it: a large file in windows, its reads counted in the parse.
        let doc = Doc::open_lean(path).map_err(|e| e.to_string())?;
        // Bytes of the file held in memory (a file read in windows keeps only some pages).
        let n = doc.copied_bytes().map_or(doc.data().len(), |c| {
            usize::try_from(c).unwrap_or(usize::MAX)
        });
        (doc, std::time::Duration::ZERO, n)
    } else {
        let raw = RawFile::open(path).map_err(|e| e.to_string())?;
        let read = t.elapsed();
        let n = raw.data().len();
        (raw.parse().map_err(|e| e.to_string())?, read, n)
    };
    let parse = t.elapsed() - read;
    let file = doc.data().len();
    let t = Instant::now();
    let m = Model::new(doc);
    let refs = t.elapsed();
    let t = Instant::now();
    let groups = m.groups().groups.len();
    let grouping = t.elapsed();
    let t = Instant::now();
    let top = picklescope::report::top_attrs(&m, 10);
    let paths = t.elapsed();
    let g = m.graph();
    println!(
        "{name}: read {:.1} ms, parse {:.1} ms, memo index {:.1} ms, groups {:.1} ms ({groups}), top attrs + paths {:.1} ms ({})",
        read.as_secs_f64() * 1e3,
        parse.as_secs_f64() * 1e3,
        refs.as_secs_f64() * 1e3,
        grouping.as_secs_f64() * 1e3,
        paths.as_secs_f64() * 1e3,
        top.len()
    );
    println!(
        "{name}: {} nodes ({} objects in the stream), {} edges, {} gets, {} puts ({} stores)",
        g.nodes.len(),
        g.object_count(),
        g.edges.len(),
        g.gets.len(),
        g.puts.len(),
        g.memo_store_count()
    );
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!("{name}:   file copy {:>9.1} MiB", mib(held));
    let mut total = held;
    for (part, bytes) in g.footprint() {
        println!("{name}:   {part:<26} {:>9.1} MiB", mib(bytes));
        total += bytes;
    }
    println!(
        "{name}:   total {:.1} MiB ({:.2}x the file); peak RSS so far {:.1} MiB",
        mib(total),
        total as f64 / file.max(1) as f64,
        peak_rss_mib()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: engine_breakdown FILE [full|lean|both]");
        return ExitCode::from(2);
    };
    let mode = args.get(2).map_or("both", String::as_str);
    let path = std::path::Path::new(path);
    for lean in [false, true] {
        if (mode == "full" && lean) || (mode == "lean" && !lean) {
            continue;
        }
        if let Err(e) = run(path, lean) {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
