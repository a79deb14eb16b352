//! Engine benchmarks: the scanner, the symbolic machine, the model's groups and retained sizes,
//! and the rewriter's counting mode (the dry-run), on pickles built in-process (no Python).
//!
//! `cargo bench --bench engine`; figures of the whole binary against CPython come from
//! `tools/bench.py`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picklescope::model::{Doc, Groups, MemoRefs, Model, merge_spans, retained};
use picklescope::pickle::scan::Scanner;
use picklescope::pickle::{Op, parse};
use picklescope::slim::presets::{expand_bases, preset};
use picklescope::slim::{Counter, Plan, rewrite};
use picklescope::synth::{DemoOptions, EncodeOptions, Rng, Value, encode_with, stage_result};

// The binary's allocator (huge pages for large blocks), so frames are timed as users get them.
#[global_allocator]
static ALLOC: picklescope::alloc::HugeBlocks = picklescope::alloc::HugeBlocks;

/// A hifa_flagdata-like result: a `ResultsList` holding one result whose `summaries` is a list
/// of `n` small dicts (interned keys, ints, floats, fresh strings, bools). 160 000 dicts give
/// about 9 MB and 3 million opcodes, like `gen_fixtures.py objheavy`.
fn object_heavy(n: usize) -> Vec<u8> {
    let mut rng = Rng::new(7);
    let items: Vec<Value> = (0..n)
        .map(|i| {
            Value::dict([
                ("antenna", Value::str(format!("DA{}", 41 + i % 43))),
                ("spw", Value::Int((i % 32) as i64)),
                ("scan", Value::Int((i % 400) as i64)),
                (
                    "field",
                    Value::FreshStr(format!("J{:04}+{:04}", i % 9973, i % 7919)),
                ),
                ("amp", Value::Float(rng.normal(1.0, 0.1))),
                ("phase", Value::Float(rng.normal(0.0, 30.0))),
                ("flagged", Value::Bool(i % 20 == 0)),
            ])
        })
        .collect();
    let result = Value::instance(
        "pipeline.h.tasks.flagging.flagdeterbase",
        "FlagDeterBaseResults",
        [
            ("summaries", Value::List(items)),
            ("stage_number", Value::Int(2)),
        ],
    );
    let root = Value::instance(
        "pipeline.infrastructure.basetask",
        "ResultsList",
        [("_ResultsList__results", Value::List(vec![result]))],
    );
    encode_with(&root, &EncodeOptions::default()).expect("encode")
}

/// The demo's stage 4 (hif_rawflagchans: views of numpy arrays), at `scale`.
fn demo_stage4(scale: f64) -> Vec<u8> {
    let opts = DemoOptions {
        scale,
        ..DemoOptions::default()
    };
    let v = stage_result(4, &opts).expect("stage 4");
    encode_with(&v, &EncodeOptions::default()).expect("encode")
}

fn model(name: &str, data: Vec<u8>) -> Model {
    Model::new(Doc::from_bytes(name, data).expect("parse"))
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

fn engine(c: &mut Criterion) {
    let obj = object_heavy(160_000);
    let (g, _) = parse(&obj).expect("parse");
    eprintln!(
        "object-heavy: {} bytes, {} opcodes, {} nodes",
        obj.len(),
        g.op_count,
        g.nodes.len()
    );
    drop(g);
    let st4 = demo_stage4(10.0);
    eprintln!("demo stage 4 (scale 10): {} bytes", st4.len());

    let mut grp = c.benchmark_group("scanner");
    grp.throughput(Throughput::Bytes(obj.len() as u64));
    grp.bench_function("object_heavy", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for i in Scanner::new(black_box(&obj), 0) {
                let i = i.expect("scan");
                n += u64::from(i.op != Op::STOP);
            }
            n
        })
    });
    grp.throughput(Throughput::Bytes(st4.len() as u64));
    grp.bench_function("demo_stage4", |b| {
        b.iter(|| Scanner::new(black_box(&st4), 0).count())
    });
    grp.finish();

    let mut grp = c.benchmark_group("machine");
    grp.throughput(Throughput::Bytes(obj.len() as u64));
    grp.bench_function("parse_object_heavy", |b| {
        b.iter(|| parse(black_box(&obj)).expect("parse"))
    });
    grp.throughput(Throughput::Bytes(st4.len() as u64));
    grp.bench_function("parse_demo_stage4", |b| {
        b.iter(|| parse(black_box(&st4)).expect("parse"))
    });
    grp.finish();

    let m_obj = model("objheavy.pickle", obj.clone());
    let m4 = model("result-stage4.pickle", st4.clone());
    let rules = expand_bases(&preset("strategy-a").expect("preset"));
    let plan = Plan::build(&m4, &rules);
    assert!(!plan.cuts.is_empty(), "strategy-a cuts nothing in stage 4");
    let merged = merge_spans(plan.cuts.clone());

    let mut grp = c.benchmark_group("model");
    grp.bench_function("memo_refs_object_heavy", |b| {
        b.iter(|| MemoRefs::build(black_box(m_obj.graph())))
    });
    grp.bench_function("groups_object_heavy", |b| {
        b.iter(|| Groups::build(black_box(&m_obj)))
    });
    grp.bench_function("groups_demo_stage4", |b| {
        b.iter(|| Groups::build(black_box(&m4)))
    });
    grp.bench_function("retained_strategy_a_demo_stage4", |b| {
        b.iter(|| retained(m4.graph(), &m4.refs, black_box(&merged)))
    });
    grp.bench_function("plan_strategy_a_demo_stage4_groups_cached", |b| {
        b.iter(|| Plan::build(black_box(&m4), &rules))
    });
    grp.finish();

    let mut grp = c.benchmark_group("slim");
    grp.throughput(Throughput::Bytes(st4.len() as u64));
    grp.bench_function("rewrite_count_strategy_a_demo_stage4", |b| {
        b.iter(|| {
            let mut sink = Counter::default();
            rewrite(m4.data(), m4.graph(), black_box(&plan.cuts), &mut sink).expect("rewrite")
        })
    });
    grp.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = engine
}
criterion_main!(benches);
