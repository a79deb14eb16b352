//! Whole-source analyses for batch use: `suggest` (candidate transient groups) and `diff`
//! (two pickles or two contexts compared stage by stage and class.attr by class.attr).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{ClassTotals, Model, merge_spans};
use crate::pickle::{Kind, Span};
use crate::slim::{PROTECTED, Rules, what_if};
use crate::workspace::Workspace;

/// A class.attr group worth marking transient.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub class: String,
    pub attr: String,
    pub instances: u64,
    pub bytes: u64,
    pub retained_bytes: u64,
    /// Share of the group's bytes that are raw array/bytes payloads.
    pub blob_share: f64,
    /// Exact bytes saved across all files if this group alone were marked.
    pub saving: u64,
    pub stages: Vec<u32>,
}

fn blob_bytes(m: &Model, spans: &[Span]) -> u64 {
    let mut blobs: Vec<Span> = m
        .graph()
        .nodes
        .iter()
        .filter_map(|n| match n.kind {
            Kind::Bytes { payload } | Kind::ByteArray { payload } if payload.len() >= 256 => {
                Some(payload)
            }
            _ => None,
        })
        .collect();
    blobs.sort_by_key(|s| s.start);
    let spans = merge_spans(spans.to_vec());
    let mut total = 0;
    for s in &spans {
        let a = blobs.partition_point(|b| b.start < s.start);
        for b in &blobs[a..] {
            if b.start >= s.end {
                break;
            }
            if b.end <= s.end {
                total += b.len();
            }
        }
    }
    total
}

/// Ranks class.attr groups: large, blob-heavy, not protected, mostly not referenced from
/// outside the group, and not a pass-through container.
pub fn suggest(ws: &Workspace, top: usize) -> Vec<Candidate> {
    let mut acc: BTreeMap<(String, String), Candidate> = BTreeMap::new();
    let mut blob: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in &ws.entries {
        let Some(m) = &e.model else { continue };
        let groups = m.groups();
        let mut spans: BTreeMap<usize, Vec<Span>> = BTreeMap::new();
        for a in &groups.attrs {
            spans.entry(a.group).or_default().push(a.row.span);
        }
        for (gi, g) in groups.groups.iter().enumerate() {
            if g.pass_through || PROTECTED.contains(&g.attr.as_str()) {
                continue;
            }
            let key = (g.class.clone(), g.attr.clone());
            let c = acc.entry(key.clone()).or_insert_with(|| Candidate {
                class: g.class.clone(),
                attr: g.attr.clone(),
                instances: 0,
                bytes: 0,
                retained_bytes: 0,
                blob_share: 0.0,
                saving: 0,
                stages: Vec::new(),
            });
            c.instances += g.instances;
            c.bytes += g.bytes;
            c.retained_bytes += g.retained;
            if let Some(s) = e.stage()
                && !c.stages.contains(&s)
            {
                c.stages.push(s);
            }
            *blob.entry(key).or_default() +=
                blob_bytes(m, spans.get(&gi).map(Vec::as_slice).unwrap_or(&[]));
        }
    }
    let mut cands: Vec<Candidate> = acc
        .into_iter()
        .map(|(k, mut c)| {
            c.blob_share = blob.get(&k).copied().unwrap_or(0) as f64 / c.bytes.max(1) as f64;
            c
        })
        .filter(|c| c.bytes >= 4096 && c.retained_bytes as f64 >= 0.9 * c.bytes as f64)
        .collect();
    cands.sort_by(|a, b| {
        let score = |c: &Candidate| c.retained_bytes as f64 * (0.25 + c.blob_share);
        score(b).total_cmp(&score(a))
    });
    cands.truncate(top);
    for c in &mut cands {
        let mut r = Rules::default();
        r.add(&c.class, &c.attr);
        c.saving = ws
            .entries
            .iter()
            .filter_map(|e| e.model.as_ref())
            .filter_map(|m| what_if(m, &r).ok())
            .map(|w| w.before.saturating_sub(w.after))
            .sum();
        c.stages.sort_unstable();
    }
    cands
}

/// Rules marking every candidate.
pub fn candidates_to_rules(c: &[Candidate]) -> Rules {
    let mut r = Rules::default();
    for x in c {
        r.add(&x.class, &x.attr);
    }
    r
}

/// One stage (or file) in a comparison.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StageDiff {
    pub stage: Option<u32>,
    pub task: Option<String>,
    pub file: String,
    pub a_bytes: Option<u64>,
    pub b_bytes: Option<u64>,
    /// The entry of A (and of B) this row stands for.
    #[serde(skip)]
    pub a_index: Option<usize>,
    #[serde(skip)]
    pub b_index: Option<usize>,
}

/// One class.attr group in a comparison.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GroupDiff {
    pub class: String,
    pub attr: String,
    pub a_instances: u64,
    pub b_instances: u64,
    pub a_bytes: u64,
    pub b_bytes: u64,
}

/// Two sources compared.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Diff {
    pub a_total: u64,
    pub b_total: u64,
    pub stages: Vec<StageDiff>,
    /// Groups present in A and gone from B.
    pub disappeared: Vec<GroupDiff>,
    /// Groups present in B only.
    pub appeared: Vec<GroupDiff>,
    /// Groups in both whose bytes changed.
    pub changed: Vec<GroupDiff>,
}

fn file_key(e: &crate::workspace::Entry) -> String {
    match e.stage() {
        Some(s) if !e.is_context() => format!("stage {s:05}"),
        _ if e.is_context() => "context".into(),
        _ => e.file_name(),
    }
}

fn groups_of(ws: &Workspace) -> ClassTotals {
    let mut out = ClassTotals::default();
    for e in &ws.entries {
        if let Some(m) = &e.model {
            out.add(m.groups(), e.stage());
        }
    }
    out
}

/// Compares A with B: stage by stage (matched by stage number, else file name) and by group.
pub fn diff(a: &Workspace, b: &Workspace) -> Diff {
    let single = a.entries.len() == 1 && b.entries.len() == 1;
    let mut stages: BTreeMap<String, StageDiff> = BTreeMap::new();
    for (side, ws) in [(0, a), (1, b)] {
        for (i, e) in ws.entries.iter().enumerate() {
            let key = if single { "file".into() } else { file_key(e) };
            let d = stages.entry(key).or_insert_with(|| StageDiff {
                stage: e.stage(),
                task: e.info.task.clone(),
                file: e.file_name(),
                a_bytes: None,
                b_bytes: None,
                a_index: None,
                b_index: None,
            });
            if side == 0 {
                d.a_bytes = Some(e.bytes);
                d.a_index = Some(i);
            } else {
                d.b_bytes = Some(e.bytes);
                d.b_index = Some(i);
            }
        }
    }
    let ga = groups_of(a);
    let gb = groups_of(b);
    let mut disappeared = Vec::new();
    let mut appeared = Vec::new();
    let mut changed = Vec::new();
    let keys: std::collections::BTreeSet<(&str, &str)> = ga
        .iter()
        .chain(gb.iter())
        .map(|c| (c.class.as_str(), c.attr.as_str()))
        .collect();
    for (class, attr) in keys {
        let (a, b) = (ga.get(class, attr), gb.get(class, attr));
        let (ai, ab) = a.map(|c| (c.instances, c.bytes)).unwrap_or((0, 0));
        let (bi, bb) = b.map(|c| (c.instances, c.bytes)).unwrap_or((0, 0));
        let d = GroupDiff {
            class: class.to_string(),
            attr: attr.to_string(),
            a_instances: ai,
            b_instances: bi,
            a_bytes: ab,
            b_bytes: bb,
        };
        match (a.is_some(), b.is_some()) {
            (true, false) => disappeared.push(d),
            (false, true) => appeared.push(d),
            _ if ab != bb || ai != bi => changed.push(d),
            _ => {}
        }
    }
    let by_a = |x: &GroupDiff| std::cmp::Reverse(x.a_bytes.max(x.b_bytes));
    disappeared.sort_by_key(by_a);
    appeared.sort_by_key(by_a);
    changed.sort_by_key(|x| std::cmp::Reverse(x.a_bytes.abs_diff(x.b_bytes)));
    Diff {
        a_total: a.total_bytes(),
        b_total: b.total_bytes(),
        stages: stages.into_values().collect(),
        disappeared,
        appeared,
        changed,
    }
}
