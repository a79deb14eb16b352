//! Class statements read from Python source (module, name, bases), the classes a set of rules
//! marks (subclasses included), and rules expanded to those classes (`--classes-from`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tree_sitter::Node;

use super::py::{each_node, text};
use crate::slim::Rules;

/// One `class Name(Base, ...)` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDef {
    /// Dotted module of the file (`pipeline.hif.tasks.rawflagchans.resultobjects`).
    pub module: String,
    pub name: String,
    /// Base classes as written (`basetask.Results`, `FlaggableViewResults`).
    pub bases: Vec<String>,
}

impl ClassDef {
    pub fn qualname(&self) -> String {
        qualname(&self.module, &self.name)
    }
}

/// `module.Name`, or just `Name` when the module is not known.
fn qualname(module: &str, name: &str) -> String {
    if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}.{name}")
    }
}

/// Every class statement at module level or nested in another class (`Outer.Inner` gets the
/// name `Inner`), in file order.
pub fn class_defs(root: Node, src: &[u8], module: &str) -> Vec<ClassDef> {
    let mut out = Vec::new();
    each_node(root, |node, _| {
        if node.kind() == "class_definition"
            && let Some(name) = node.child_by_field_name("name")
        {
            let mut bases = Vec::new();
            if let Some(list) = node.child_by_field_name("superclasses") {
                let mut c = list.walk();
                for b in list.named_children(&mut c) {
                    // Keyword arguments (metaclass=...) are not bases.
                    if matches!(b.kind(), "identifier" | "attribute") {
                        bases.push(text(b, src).to_string());
                    }
                }
            }
            out.push(ClassDef {
                module: module.to_string(),
                name: text(name, src).to_string(),
                bases,
            });
        }
    });
    out
}

/// A class that loses an attribute under the rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Marked {
    pub attr: String,
    /// `module.Name`; the module is empty when only the rule named the class.
    pub module: String,
    pub name: String,
    /// The rule's class pattern that reached it (itself, or a base class).
    pub via: String,
}

impl Marked {
    pub fn qualname(&self) -> String {
        qualname(&self.module, &self.name)
    }

    /// The package holding the defining module (`pipeline.hif.tasks.rawflagchans`).
    pub fn package(&self) -> &str {
        self.module.rsplit_once('.').map_or("", |(p, _)| p)
    }
}

/// The classes whose instances lose an attribute under `rules`: a class matches when its
/// `module.Name` or that of any ancestor (bases resolved by their last name among `defs`)
/// matches a rule. Rules naming a dotted class absent from `defs` count too (module from the
/// name), so a rule alone still places the class in its package.
pub fn marked(rules: &Rules, defs: &[ClassDef]) -> Vec<Marked> {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, d) in defs.iter().enumerate() {
        by_name.entry(d.name.as_str()).or_default().push(i);
    }
    let attrs: BTreeSet<&String> = rules.transient.iter().flat_map(|r| &r.attrs).collect();
    let mut out = BTreeSet::new();
    for d in defs {
        // Breadth-first over the ancestors, each visited once (cycles in odd code are fine).
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([d]);
        while let Some(c) = queue.pop_front() {
            if !seen.insert(c.qualname()) {
                continue;
            }
            let qual = c.qualname();
            for attr in &attrs {
                if rules.matches(&qual, attr).is_some() {
                    out.insert(Marked {
                        attr: (*attr).clone(),
                        module: d.module.clone(),
                        name: d.name.clone(),
                        via: qual.clone(),
                    });
                }
            }
            for base in &c.bases {
                let last = base.rsplit('.').next().unwrap_or(base);
                for &j in by_name.get(last).map(Vec::as_slice).unwrap_or(&[]) {
                    queue.push_back(&defs[j]);
                }
            }
        }
    }
    for rule in &rules.transient {
        if rule.class.contains('*') {
            continue;
        }
        let (module, name) = rule.class.rsplit_once('.').unwrap_or(("", &rule.class));
        for attr in &rule.attrs {
            if !out.iter().any(|m| m.name == name && m.attr == *attr) {
                out.insert(Marked {
                    attr: attr.clone(),
                    module: module.to_string(),
                    name: name.to_string(),
                    via: rule.class.clone(),
                });
            }
        }
    }
    let mut out: Vec<Marked> = out.into_iter().collect();
    out.dedup_by(|a, b| a.attr == b.attr && a.module == b.module && a.name == b.name);
    out
}

/// Expands rules over class statements read from source (`--classes-from`): a class whose
/// own `module.Name` or any ancestor's matches a rule gets that rule's attributes, by its
/// dotted name. Returns the expanded rules and, per added class, the rule class that reached it.
pub fn expand_with(rules: &Rules, defs: &[ClassDef]) -> (Rules, Vec<(String, String)>) {
    let mut out = rules.clone();
    let mut added = Vec::new();
    for m in marked(rules, defs) {
        if m.module.is_empty() {
            continue;
        }
        let qual = qualname(&m.module, &m.name);
        if rules.matches(&qual, &m.attr).is_none() {
            out.add(&qual, &m.attr);
            added.push((format!("{qual}.{}", m.attr), m.via.clone()));
        }
    }
    (out, added)
}
