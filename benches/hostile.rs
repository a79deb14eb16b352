//! Hostile inputs, timed: the cases tests/hostile.rs bounds by memory and work (not by a clock),
//! with the same streams (tests/support/hostile_streams.rs). A regression to per-use or
//! per-object work shows here as time.
//!
//! `cargo bench --bench hostile`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picklescope::model::{Doc, Model};
use picklescope::slim::{Counter, Plan, Rules, rewrite, what_if};

#[path = "../tests/support/hostile_streams.rs"]
mod streams;

// The binary's allocator, as in the engine benches.
#[global_allocator]
static ALLOC: picklescope::alloc::HugeBlocks = picklescope::alloc::HugeBlocks;

fn model(data: Vec<u8>) -> Model {
    Model::new(Doc::from_bytes("hostile.pickle", data).expect("parse"))
}

fn rules(class: &str, attr: &str) -> Rules {
    let mut r = Rules::default();
    r.add(class, attr);
    r
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

fn hostile(c: &mut Criterion) {
    let mut grp = c.benchmark_group("hostile");
    // The dry-run of cutting `x` from the memo chains of 300 000 definitions (parse once).
    for (name, data) in [
        ("memo_chain_tuples_300k", streams::tuple_memo_chain(300_000)),
        (
            "memo_chain_shared_300k",
            streams::shared_memo_chain(300_000),
        ),
    ] {
        let m = model(data);
        let cuts = Plan::build(&m, &rules("__main__.C", "x")).cuts;
        grp.throughput(Throughput::Bytes(m.data().len() as u64));
        grp.bench_function(name, |b| {
            b.iter(|| {
                let mut c = Counter::default();
                black_box(rewrite(m.data(), m.graph(), &cuts, &mut c).expect("count"))
            })
        });
    }
    // Groups and retained sizes of 60 000 nested distinct classes (read included).
    let d = streams::nested_distinct_classes(60_000);
    grp.throughput(Throughput::Bytes(d.len() as u64));
    grp.bench_function("nested_classes_60k_groups", |b| {
        b.iter(|| {
            let m = model(d.clone());
            black_box(m.groups().groups.len())
        })
    });
    // The what-if of a rule on `*` over 20 000 distinct classes with `view`.
    let m = model(streams::classes_with_view(20_000));
    grp.throughput(Throughput::Bytes(m.data().len() as u64));
    grp.bench_function("what_if_20k_hits", |b| {
        b.iter(|| black_box(what_if(&m, &rules("*", "view")).expect("what-if").after))
    });
    // Reading and grouping 200 000 instances named by megabyte strings.
    let d = streams::megabyte_names(200_000);
    grp.throughput(Throughput::Bytes(d.len() as u64));
    grp.bench_function("megabyte_names_200k_groups", |b| {
        b.iter(|| {
            let m = model(d.clone());
            black_box(m.groups().groups.len())
        })
    });
    grp.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = hostile
}
criterion_main!(benches);
