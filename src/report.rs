//! `report`: the largest attributes, class.attr groups and named globals of a pickle or context,
//! as text, Markdown or JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::context::reread::{Rereads, reread_bytes};
use crate::fmt::{change, change_pct, elide_middle, fit, pct, size};
use crate::model::fixed::NotRemovable;
use crate::model::globals::{Judgement, Named, Trust, Verdict, judge, named_globals};
use crate::model::{ClassTotal, ClassTotals, Model, short_name};
use crate::workspace::Workspace;

/// How many unknown globals the text report names before it only counts them.
pub const UNKNOWN_SHOWN: usize = 15;

/// One of the largest attribute instances.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct TopAttr {
    pub path: String,
    pub class: String,
    pub attr: String,
    pub bytes: u64,
    pub retained_bytes: u64,
}

/// One file.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileReport {
    pub path: String,
    pub bytes: u64,
    pub protocol: Option<u8>,
    pub stage: Option<u32>,
    pub task: Option<String>,
    pub root_class: Option<String>,
    /// The codec of a compressed pickle (`bytes` is then its content).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<&'static str>,
    /// A compressed pickle's size on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_bytes: Option<u64>,
    /// What an archive member holds when it is not a pickle (`ndarray float64 (3, 4) C`) or
    /// is an object array's pickle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// A checkpoint's largest tensors by the storage each names first (a storage shared by
    /// several tensors counts once, at its first); their bytes are part of `bytes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tensors: Vec<crate::model::archive::TensorSize>,
    /// The largest `bytes` attribute values that hold a pickle (plain or compressed), with
    /// `nested_pickle_count` how many in all. Each counts once, as the bytes it takes here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested_pickles: Vec<crate::model::nested::NestedPickle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested_pickle_count: Option<usize>,
    /// Exact size after slimming with the given rules (only with `--rules`/`--preset`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_bytes: Option<u64>,
    /// Times one run reads this file back (S − k + 1 for stage k of S; see
    /// [`crate::context::reread`]).
    pub reread_times: u64,
    /// `bytes × reread_times`: what reading this file back costs per run.
    pub reread_bytes: u64,
    /// The same after slimming with the given rules (only with rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_reread_bytes: Option<u64>,
    pub top: Vec<TopAttr>,
    /// Classes whose instances here cannot lose an attribute by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_removable: Vec<NotRemovable>,
    /// `module.name` of the globals this file names whose verdict is dangerous or gadget.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flagged: Vec<String>,
    /// Every global this file names (judged into `flagged` and the report's `globals`).
    #[serde(skip)]
    pub named: Vec<((String, String), Named)>,
    /// `module.name` and verdict of this file's dangerous, gadget and unknown globals.
    #[serde(skip)]
    pub concerns: Vec<(String, Verdict)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One class.attr group across all files (the one accounting: [`crate::model::accounting`]).
pub type ClassReport = ClassTotal;

/// A class or function a pickle names, with what it would do if CPython loaded the file.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GlobalReport {
    pub module: String,
    pub name: String,
    pub count: u64,
    /// True when the verdict is dangerous or gadget (the ones that get a banner).
    pub dangerous: bool,
    /// dangerous, gadget, benign, unknown or safe.
    pub verdict: Verdict,
    /// The same as `verdict` (the name the danger levels are also known by).
    pub severity: Verdict,
    pub reason: String,
    /// The public lists that name it; empty for unknown.
    pub source: Vec<String>,
    #[serde(skip)]
    pub named: Named,
}

/// What one file contributes to a report.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub file: FileReport,
    pub classes: ClassTotals,
    pub globals: BTreeMap<(String, String), Named>,
    /// A load error as one line, if the file could not be read.
    pub error: Option<String>,
    /// True when the error is an invalid pickle (exit code 2).
    pub invalid: bool,
}

fn context_dir(source: &crate::context::Source) -> Option<std::path::PathBuf> {
    source
        .files
        .iter()
        .find(|f| f.role == crate::context::FileRole::Context)
        .and_then(|f| f.path.parent().map(Path::to_path_buf))
}

impl FilePart {
    /// Reports one loaded (or failed) file.
    pub fn of(
        e: &crate::workspace::Entry,
        base: Option<&Path>,
        top: usize,
        rules: Option<&crate::slim::Rules>,
        rereads: Rereads,
    ) -> FilePart {
        let reread_times = rereads.times(&e.file);
        let mut fr = FileReport {
            path: display_path(&e.file.shown_path(), base),
            bytes: e.bytes,
            protocol: None,
            stage: e.stage(),
            task: e.info.task.clone(),
            root_class: None,
            codec: None,
            disk_bytes: None,
            summary: None,
            tensors: Vec::new(),
            nested_pickles: Vec::new(),
            nested_pickle_count: None,
            after_bytes: None,
            reread_times,
            reread_bytes: reread_bytes(e.bytes, reread_times),
            after_reread_bytes: None,
            top: Vec::new(),
            not_removable: Vec::new(),
            flagged: Vec::new(),
            named: Vec::new(),
            concerns: Vec::new(),
            warnings: Vec::new(),
            error: e.error.as_ref().map(|x| x.to_string()),
        };
        let mut classes = ClassTotals::default();
        let mut globals = BTreeMap::new();
        if let Some(m) = &e.model {
            let g = m.graph();
            fr.protocol = g.pickles.first().map(|p| p.protocol);
            if let Some(c) = m.doc.compressed {
                fr.codec = Some(c.format.name());
                fr.disk_bytes = Some(c.disk_bytes);
            }
            fr.root_class = m
                .class_of(g.root())
                .or_else(|| g.get(g.root()).map(|n| n.kind.type_name().to_string()));
            fr.top = top_attrs(m, top);
            fr.summary = m.doc.summary.clone();
            fr.tensors = crate::model::archive::largest_tensors(m, top);
            let (nested, count) = crate::model::nested::in_attributes(m, top);
            fr.nested_pickles = nested;
            fr.nested_pickle_count = (count > 0).then_some(count);
            fr.warnings = m
                .doc
                .warnings
                .iter()
                .map(|w| format!("{} (byte {})", w.message, w.offset))
                .collect();
            if g.pickles.len() > 1 {
                fr.warnings.push(format!(
                    "{} pickles back to back; all are read",
                    g.pickles.len()
                ));
            }
            if m.groups().approximate {
                fr.warnings.push(
                    "attributes nest too deeply to size every class.attr group exactly in \
                     bounded time; some retained sizes are inline sizes"
                        .into(),
                );
            }
            if let Some(rules) = rules {
                fr.after_bytes = Some(
                    crate::slim::what_if(m, rules)
                        .map(|w| w.after)
                        .unwrap_or(e.bytes),
                );
            }
            classes.add(m.groups(), e.stage());
            fr.not_removable = crate::model::fixed::not_removable(m);
            globals = named_globals(m);
        } else if rules.is_some() {
            fr.after_bytes = Some(e.bytes);
        }
        fr.after_reread_bytes = fr.after_bytes.map(|a| reread_bytes(a, reread_times));
        FilePart {
            file: fr,
            classes,
            globals,
            error: e.error.as_ref().map(|x| x.to_string()),
            invalid: e.error.as_ref().is_some_and(|x| x.is_invalid_pickle()),
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub total_bytes: u64,
    /// Total after slimming (only with rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_bytes: Option<u64>,
    /// S: the last stage of the run, which sets the read-back counts (`None` without stage files).
    pub last_stage: Option<u32>,
    /// Bytes one run reads back, all files together (sum of the files' `reread_bytes`).
    pub reread_bytes: u64,
    /// The same after slimming with the given rules (only with rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_reread_bytes: Option<u64>,
    pub files: Vec<FileReport>,
    pub classes: Vec<ClassReport>,
    /// Classes that cannot lose an attribute by name (slots-tuple state or call arguments
    /// only), over all files, largest first.
    pub not_removable: Vec<NotRemovable>,
    pub globals: Vec<GlobalReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// At most this many per-stage read-back lines in the text report (each ≥ 5% of the total).
pub const REREAD_LINES: usize = 5;

/// The largest attribute instances of a model, pass-through groups folded away.
pub fn top_attrs(m: &Model, n: usize) -> Vec<TopAttr> {
    let groups = m.groups();
    let mut cand: Vec<usize> = (0..groups.attrs.len())
        .filter(|&i| !groups.groups[groups.attrs[i].group].pass_through)
        .collect();
    // The n largest, in order (ties in attribute order): a partial selection first, the
    // file may hold hundreds of thousands.
    let key = |&i: &usize| (std::cmp::Reverse(groups.attrs[i].row.span.len()), i);
    if n < cand.len() {
        cand.select_nth_unstable_by_key(n, key);
        cand.truncate(n);
    }
    cand.sort_unstable_by_key(key);
    let rows: Vec<_> = cand.iter().map(|&i| groups.attrs[i].row).collect();
    let paths = m.attr_paths(&rows);
    cand.into_iter()
        .zip(paths)
        .map(|(i, path)| {
            let a = &groups.attrs[i];
            let g = &groups.groups[a.group];
            TopAttr {
                path,
                class: g.class.clone(),
                attr: g.attr.clone(),
                bytes: a.row.span.len(),
                retained_bytes: m.retained_span(a.row.span),
            }
        })
        .collect()
}

fn display_path(p: &Path, base: Option<&Path>) -> String {
    if let Some(b) = base
        && let Ok(r) = p.strip_prefix(b)
    {
        return r.display().to_string();
    }
    p.display().to_string()
}

impl Report {
    /// Builds the report for every file of a loaded workspace.
    pub fn build(ws: &Workspace, top: usize) -> Report {
        let base = context_dir(&ws.source);
        let rereads = Rereads::of(&ws.source.files);
        let parts = ws
            .entries
            .iter()
            .map(|e| FilePart::of(e, base.as_deref(), top, None, rereads))
            .collect();
        Report::from_parts(parts, ws.source.notes.clone(), rereads)
    }

    /// Builds the report file by file on every core, keeping only a few files in memory at
    /// once; with `rules`, each file also gets its exact size after slimming.
    pub fn stream(
        source: &crate::context::Source,
        top: usize,
        rules: Option<&crate::slim::Rules>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> (Report, Option<(String, bool)>) {
        Report::stream_on(
            source,
            top,
            rules,
            crate::context::load::EVERY_CORE,
            progress,
        )
    }

    /// [`Report::stream`] on up to `workers` threads (`EVERY_CORE`: one per core).
    pub fn stream_on(
        source: &crate::context::Source,
        top: usize,
        rules: Option<&crate::slim::Rules>,
        workers: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> (Report, Option<(String, bool)>) {
        let base = context_dir(source);
        let rereads = Rereads::of(&source.files);
        // Without rules a report reads instances, their attributes and the memo only: the
        // lean parse. Rules need the whole graph (the exact size after slimming).
        let open = match rules {
            None => crate::context::SourceFile::open_lean,
            Some(_) => crate::context::SourceFile::open,
        };
        let parts = crate::workspace::map_entries_with(source, workers, progress, open, |e| {
            FilePart::of(&e, base.as_deref(), top, rules, rereads)
        });
        // The first failure, and whether it is an invalid pickle (exit 2) or other (exit 1).
        let first_error = parts
            .iter()
            .find_map(|p| p.error.clone().map(|e| (e, p.invalid)));
        let mut r = Report::from_parts(parts, source.notes.clone(), rereads);
        if rules.is_some() {
            r.after_bytes = Some(
                r.files
                    .iter()
                    .map(|f| f.after_bytes.unwrap_or(f.bytes))
                    .sum(),
            );
            r.after_reread_bytes = Some(
                r.files
                    .iter()
                    .map(|f| f.after_reread_bytes.unwrap_or(f.reread_bytes))
                    .sum(),
            );
        }
        (r, first_error)
    }

    /// Merges per-file parts (in file order) into one report.
    pub fn from_parts(parts: Vec<FilePart>, notes: Vec<String>, rereads: Rereads) -> Report {
        let mut files = Vec::new();
        let mut classes = ClassTotals::default();
        let mut globals: BTreeMap<(String, String), Named> = BTreeMap::new();
        for mut p in parts {
            classes.merge(&p.classes);
            for (k, v) in &p.globals {
                globals.entry(k.clone()).or_default().merge(*v);
            }
            p.file.named = p.globals.into_iter().collect();
            files.push(p.file);
        }
        let classes: Vec<ClassReport> = classes
            .sorted()
            .into_iter()
            .filter(|c| !c.is_pass_through())
            .collect();
        let globals: Vec<GlobalReport> = globals
            .into_iter()
            .map(|((module, name), named)| GlobalReport {
                dangerous: false,
                verdict: Verdict::Unknown,
                severity: Verdict::Unknown,
                reason: String::new(),
                source: Vec::new(),
                count: named.count,
                module,
                name,
                named,
            })
            .collect();
        let mut fixed: BTreeMap<(String, crate::model::fixed::Fixed), NotRemovable> =
            BTreeMap::new();
        for f in &files {
            for n in &f.not_removable {
                let e = fixed
                    .entry((n.class.clone(), n.why))
                    .or_insert_with(|| NotRemovable {
                        instances: 0,
                        bytes: 0,
                        ..n.clone()
                    });
                e.instances += n.instances;
                e.bytes += n.bytes;
            }
        }
        let mut not_removable: Vec<NotRemovable> = fixed.into_values().collect();
        not_removable.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.class.cmp(&b.class)));
        let mut r = Report {
            total_bytes: files.iter().map(|f| f.bytes).sum(),
            after_bytes: None,
            last_stage: rereads.last,
            reread_bytes: files.iter().map(|f| f.reread_bytes).sum(),
            after_reread_bytes: None,
            files,
            classes,
            not_removable,
            globals,
            notes,
        };
        r.judge_globals(&Trust::default());
        r
    }

    /// Gives every global (in the report and per file) its verdict, with the modules the
    /// user trusts; most serious first, then the most named.
    pub fn judge_globals(&mut self, trust: &Trust) {
        for g in &mut self.globals {
            let Judgement {
                verdict,
                reason,
                source,
            } = judge(&g.module, &g.name, g.named, trust);
            g.dangerous = verdict.alarming();
            g.verdict = verdict;
            g.severity = verdict;
            g.reason = reason;
            g.source = source;
        }
        self.globals.sort_by(|a, b| {
            a.verdict
                .cmp(&b.verdict)
                .then(b.count.cmp(&a.count))
                .then(a.module.cmp(&b.module))
                .then(a.name.cmp(&b.name))
        });
        for f in &mut self.files {
            f.flagged.clear();
            f.concerns.clear();
            for ((module, name), n) in &f.named {
                let v = judge(module, name, *n, trust).verdict;
                if v.alarming() {
                    f.flagged.push(format!("{module}.{name}"));
                }
                if v.alarming() || v == Verdict::Unknown {
                    f.concerns.push((format!("{module}.{name}"), v));
                }
            }
            f.concerns.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        }
    }

    /// The files that `--fail-on at` fails, each with the globals that fail it: `dangerous`
    /// catches dangerous and gadget globals; `unknown` also unknown ones.
    pub fn failing(&self, at: Verdict) -> Vec<(&FileReport, Vec<&(String, Verdict)>)> {
        let fails = |v: Verdict| v.alarming() || (at == Verdict::Unknown && v == Verdict::Unknown);
        self.files
            .iter()
            .filter_map(|f| {
                let hits: Vec<_> = f.concerns.iter().filter(|c| fails(c.1)).collect();
                (!hits.is_empty()).then_some((f, hits))
            })
            .collect()
    }

    /// Plain text, readable at 80 columns.
    pub fn to_text(&self, top_classes: usize) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let multi = self.files.len() > 1;
        let _ = writeln!(
            s,
            "total {}  in {} file(s)",
            size(self.total_bytes),
            self.files.len()
        );
        if let Some(a) = self.after_bytes {
            let _ = writeln!(
                s,
                "after slimming with the given rules: {} ({}, {})",
                size(a),
                change(self.total_bytes, a),
                change_pct(self.total_bytes, a)
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        if multi {
            let after_col = self.after_bytes.is_some();
            let _ = writeln!(
                s,
                "\n{:>5}  {:<26} {:>11} {:>6} {}  file",
                "stage",
                "task",
                "size",
                "share",
                if after_col {
                    format!("{:>11}", "after")
                } else {
                    String::new()
                }
            );
            let mut files: Vec<&FileReport> = self.files.iter().collect();
            files.sort_by_key(|f| (f.stage.is_none(), f.stage, f.path.clone()));
            for f in files {
                let share = pct(f.bytes, self.total_bytes);
                let stage = f.stage.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
                // An archive member without a task says what it holds instead.
                let task = f.task.clone().or(f.summary.clone()).unwrap_or_default();
                let name = Path::new(&f.path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let after = match (after_col, f.after_bytes) {
                    (true, Some(a)) => format!("{:>11}", size(a)),
                    (true, None) => format!("{:>11}", "-"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    s,
                    "{:>5}  {} {:>11} {:>6} {}  {}",
                    stage,
                    fit(&task, 26),
                    size(f.bytes),
                    share,
                    after,
                    name
                );
                if let Some(e) = &f.error {
                    let _ = writeln!(s, "       error: {e}");
                }
            }
        }
        self.reread_text(&mut s);
        for f in &self.files {
            if multi && f.top.is_empty() {
                continue;
            }
            if multi && f.bytes * 20 < self.total_bytes {
                continue;
            }
            let _ = writeln!(
                s,
                "\n{}  {}  protocol {}  root {}",
                f.path,
                size(f.bytes),
                f.protocol
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "?".into()),
                f.root_class.as_deref().map(short_name).unwrap_or("?")
            );
            if let Some(t) = &f.task {
                let _ = writeln!(
                    s,
                    "  stage {}  task {t}",
                    f.stage.map(|x| x.to_string()).unwrap_or_else(|| "?".into())
                );
            }
            for w in &f.warnings {
                let _ = writeln!(s, "  warning: {w}");
            }
            if let Some(e) = &f.error {
                let _ = writeln!(s, "  error: {e}");
            }
            if let Some(x) = &f.summary {
                let _ = writeln!(s, "  {x}");
            }
            if !f.tensors.is_empty() {
                let _ = writeln!(s, "  largest tensors (storage bytes; shared storages once)");
                for t in &f.tensors {
                    let _ = writeln!(
                        s,
                        "  {} {:>11}  storage {}",
                        fit(&elide_middle(&t.path, 48), 48),
                        size(t.bytes),
                        t.key
                    );
                }
            }
            if let Some(n) = f.nested_pickle_count {
                let _ = writeln!(
                    s,
                    "  pickles in bytes values: {n} (counted as their bytes; the explorer opens them)"
                );
                for x in &f.nested_pickles {
                    let _ = writeln!(
                        s,
                        "  {} {:>11}  {}",
                        fit(&elide_middle(&x.path, 48), 48),
                        size(x.bytes),
                        x.codec.unwrap_or("plain")
                    );
                }
            }
            if !f.top.is_empty() {
                let _ = writeln!(s, "  largest attributes            inline    retained");
                for t in &f.top {
                    let _ = writeln!(
                        s,
                        "  {} {:>9} {:>11}",
                        fit(&format!("{}.{}", short_name(&t.class), t.attr), 28),
                        size(t.bytes),
                        size(t.retained_bytes)
                    );
                    let _ = writeln!(s, "    {}", elide_middle(&t.path, 74));
                }
            }
        }
        if !self.classes.is_empty() {
            let _ = writeln!(s, "\nclass.attr groups (pass-through containers folded)");
            let _ = writeln!(
                s,
                "  {:<40} {:>6} {:>11} {:>11}",
                "class.attr", "inst", "inline", "retained"
            );
            for c in self.classes.iter().take(top_classes) {
                let _ = writeln!(
                    s,
                    "  {} {:>6} {:>11} {:>11}",
                    fit(&format!("{}.{}", short_name(&c.class), c.attr), 40),
                    c.instances,
                    size(c.bytes),
                    size(c.retained)
                );
            }
        }
        if !self.not_removable.is_empty() {
            let _ = writeln!(
                s,
                "\ncannot be slimmed (no attribute names in the state; rules leave them whole)"
            );
            for n in self.not_removable.iter().take(top_classes) {
                let _ = writeln!(
                    s,
                    "  {} {:>6} {:>11}  {}",
                    fit(short_name(&n.class), 30),
                    n.instances,
                    size(n.bytes),
                    n.why.text()
                );
            }
            if self.not_removable.len() > top_classes {
                let _ = writeln!(s, "  ... {} more", self.not_removable.len() - top_classes);
            }
        }
        self.globals_text(&mut s);
        s
    }

    /// The globals section of the text report: every dangerous, gadget and benign global with
    /// its reason and source, the unknown ones (the first [`UNKNOWN_SHOWN`]), safe counted.
    fn globals_text(&self, s: &mut String) {
        use std::fmt::Write;
        if self.globals.is_empty() {
            return;
        }
        let count = |v: Verdict| self.globals.iter().filter(|g| g.verdict == v).count();
        let _ = writeln!(
            s,
            "\nglobals: {} dangerous, {} gadget, {} benign, {} unknown, {} safe",
            count(Verdict::Dangerous),
            count(Verdict::Gadget),
            count(Verdict::Benign),
            count(Verdict::Unknown),
            count(Verdict::Safe)
        );
        if self.globals.iter().any(|g| g.dangerous) {
            let _ = writeln!(
                s,
                "DANGEROUS globals (would run code if CPython loaded this file; picklescope never does):"
            );
        }
        let mut unknown = 0;
        let mut other_header = false;
        for g in &self.globals {
            if !g.dangerous && g.verdict != Verdict::Safe && !other_header {
                other_header = true;
                let _ = writeln!(
                    s,
                    "other globals (no warning: benign or not known to be data):"
                );
            }
            match g.verdict {
                Verdict::Safe => continue,
                Verdict::Unknown => {
                    unknown += 1;
                    if unknown > UNKNOWN_SHOWN {
                        continue;
                    }
                }
                _ => {}
            }
            let _ = writeln!(
                s,
                "  {:<9} {}.{}  x{}",
                g.verdict.as_str(),
                g.module,
                g.name,
                g.count
            );
            if g.verdict != Verdict::Unknown {
                let _ = writeln!(s, "            {} [{}]", g.reason, g.source.join(", "));
            }
        }
        if unknown > UNKNOWN_SHOWN {
            let _ = writeln!(
                s,
                "  ... and {} more unknown (--json lists all; --trust-module PREFIX vouches for a project's own modules)",
                unknown - UNKNOWN_SHOWN
            );
        }
    }

    /// The read-back cost: the total and one line per stage that carries much of it.
    fn reread_text(&self, s: &mut String) {
        use std::fmt::Write;
        let Some(last) = self.last_stage else { return };
        if self.reread_bytes == 0 {
            return;
        }
        let after = match self.after_reread_bytes {
            Some(a) => format!(" -> {} after the rules", size(a)),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "\nread back per run: {}{after}  (stage k of {last} is read {last} - k + 1 times)",
            size(self.reread_bytes),
        );
        let mut files: Vec<&FileReport> =
            self.files.iter().filter(|f| f.reread_bytes > 0).collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.reread_bytes));
        for f in files.iter().take(REREAD_LINES) {
            if f.reread_bytes * 20 < self.reread_bytes {
                break;
            }
            let after = match f.after_reread_bytes {
                Some(a) if a != f.reread_bytes => format!(" (after the rules: {})", size(a)),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  stage {}: {} read back {} time{} = {} per run{after}",
                f.stage.map(|x| x.to_string()).unwrap_or_else(|| "?".into()),
                size(f.bytes),
                f.reread_times,
                if f.reread_times == 1 { "" } else { "s" },
                size(f.reread_bytes),
            );
        }
    }

    /// GitHub-flavoured Markdown tables.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "**Total:** {} in {} file(s)\n",
            size(self.total_bytes),
            self.files.len()
        );
        if self.reread_bytes > 0 {
            let _ = writeln!(
                s,
                "**Read back per run:** {} (stage k of {} is read {} − k + 1 times)\n",
                size(self.reread_bytes),
                self.last_stage.unwrap_or(0),
                self.last_stage.unwrap_or(0)
            );
        }
        let _ = writeln!(
            s,
            "| stage | task | file | size | share | read back |\n|---:|---|---|---:|---:|---:|"
        );
        for f in &self.files {
            let reread = if f.reread_times == 0 {
                "–".to_string()
            } else {
                format!("{} ×{}", size(f.reread_bytes), f.reread_times)
            };
            let _ = writeln!(
                s,
                "| {} | {} | `{}` | {} | {} | {reread} |",
                f.stage.map(|x| x.to_string()).unwrap_or_else(|| "–".into()),
                f.task.clone().unwrap_or_default(),
                f.path,
                size(f.bytes),
                pct(f.bytes, self.total_bytes)
            );
        }
        let _ = writeln!(
            s,
            "\n| class.attr | instances | inline | retained | stages |\n|---|---:|---:|---:|---|"
        );
        for c in self.classes.iter().take(20) {
            let stages: Vec<String> = c.stages.iter().map(|x| x.to_string()).collect();
            let _ = writeln!(
                s,
                "| `{}.{}` | {} | {} | {} | {} |",
                short_name(&c.class),
                c.attr,
                c.instances,
                size(c.bytes),
                size(c.retained),
                stages.join(", ")
            );
        }
        let dangerous: Vec<&GlobalReport> = self.globals.iter().filter(|g| g.dangerous).collect();
        if !dangerous.is_empty() {
            let _ = writeln!(
                s,
                "\n**Dangerous globals:** {}",
                dangerous
                    .iter()
                    .map(|g| format!("`{}.{}` ({})", g.module, g.name, g.verdict.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        s
    }
}
