//! `diff`: two pickles or two contexts compared stage by stage and class.attr by class.attr
//! (`suggest` lives in [`crate::suggest`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::ClassTotals;
use crate::workspace::Workspace;

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
