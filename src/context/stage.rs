//! Stage number and task name of a result pickle, read from the result itself.

use std::collections::VecDeque;

use crate::model::{Label, Model, label_text};
use crate::pickle::value::{global_name, int_value, str_value};
use crate::pickle::{Kind, NO_NODE, NodeId};

/// What a stage file says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageInfo {
    pub stage: Option<u32>,
    pub task: Option<String>,
}

/// The value node of attribute `name` of instance `id`.
pub fn attr_value(m: &Model, id: NodeId, name: &str) -> Option<NodeId> {
    let g = m.graph();
    m.rows(id)
        .into_iter()
        .find(|r| matches!(r.label, Label::Attr(_)) && label_text(g, m.data(), r.label) == name)
        .map(|r| r.value)
}

/// Looks (breadth first, a bounded number of nodes from the root) for `pipeline_casa_task`,
/// `stage_number` and `task`.
pub fn stage_info(m: &Model) -> StageInfo {
    let g = m.graph();
    let data = m.data();
    let mut info = StageInfo::default();
    let mut task_global: Option<String> = None;
    let mut queue = VecDeque::from([g.root()]);
    let mut seen = std::collections::HashSet::new();
    let mut budget = 400;
    while let Some(n) = queue.pop_front() {
        if n == NO_NODE || !seen.insert(n) || budget == 0 {
            continue;
        }
        budget -= 1;
        for r in m.rows(n) {
            if let Label::Attr(_) = r.label {
                let name = label_text(g, data, r.label);
                match name.as_str() {
                    "pipeline_casa_task" if info.task.is_none() => {
                        if let Some(s) = str_value(g, data, r.value) {
                            let t = s.split('(').next().unwrap_or("").trim().to_string();
                            if !t.is_empty() {
                                info.task = Some(t);
                            }
                        }
                    }
                    "stage_number" if info.stage.is_none() => {
                        if let Some(Kind::Int { payload }) = g.get(r.value).map(|x| x.kind) {
                            info.stage = int_value(data, g.node(r.value).op, payload)
                                .and_then(|v| u32::try_from(v).ok());
                        }
                    }
                    "task" if task_global.is_none() => {
                        task_global = global_name(g, data, r.value);
                    }
                    _ => {}
                }
            }
            if matches!(
                g.get(r.value).map(|x| x.kind),
                Some(Kind::Call { .. } | Kind::List | Kind::Tuple)
            ) {
                queue.push_back(r.value);
            }
        }
        if info.task.is_some() && info.stage.is_some() {
            break;
        }
    }
    if info.task.is_none() {
        info.task = task_global.map(|t| t.rsplit('.').next().unwrap_or(&t).to_lowercase());
    }
    info
}
