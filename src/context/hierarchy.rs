//! Known pipeline class hierarchies, the presets built on them ("strategy-a"), and rules
//! expanded over base classes (shipped data, or class statements read with `--classes-from`).

use crate::guards::ClassDef;
use crate::slim::Rules;

/// The classes that inherit `pipeline.h.tasks.common.flaggableviewresults.FlaggableViewResults`
/// (and so its `view`) in the pipeline's source: exactly these 9, directly or not.
pub const FLAGGABLE_VIEW_SUBCLASSES: &[&str] = &[
    "pipeline.h.tasks.common.viewflaggers.MatrixFlaggerResults",
    "pipeline.h.tasks.common.viewflaggers.VectorFlaggerResults",
    "pipeline.hif.tasks.rawflagchans.resultobjects.RawflagchansResults",
    "pipeline.hif.tasks.rawflagchans.resultobjects.RawflagchansViewResults",
    "pipeline.hif.tasks.lowgainflag.resultobjects.LowgainflagResults",
    "pipeline.hif.tasks.lowgainflag.resultobjects.LowgainflagViewResults",
    "pipeline.h.tasks.tsysflag.resultobjects.TsysflagspectraResults",
    "pipeline.h.tasks.tsysflag.resultobjects.TsysflagViewResults",
    "pipeline.hifa.tasks.wvrgcalflag.resultobjects.WvrgcalflagViewResults",
];

/// The classes that inherit `pipeline.h.tasks.tsyscal.resultobjects.TsyscalResults`.
pub const TSYSCAL_SUBCLASSES: &[&str] = &[
    "pipeline.h.tasks.tsysflag.resultobjects.TsysflagResults",
    "pipeline.h.tasks.tsysflag.resultobjects.TsysflagspectraResults",
];

/// Base class (short name) -> known subclasses (dotted names), shipped as data.
pub const HIERARCHY: &[(&str, &[&str])] = &[
    ("FlaggableViewResults", FLAGGABLE_VIEW_SUBCLASSES),
    ("TsyscalResults", TSYSCAL_SUBCLASSES),
];

/// Names of the presets `--preset` accepts.
pub const PRESETS: &[&str] = &["strategy-a"];

fn short(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

/// The rules of a preset. Classes are matched by short name (`*.Name`): module paths move
/// between pipeline versions, class names do not.
pub fn preset(name: &str) -> Option<Rules> {
    match name {
        // The pipeline's adopted `_transient_fields`: `FlaggableViewResults.view` (so every
        // subclass), `TsysflagResults.components`, `WvrgcalResult.view`.
        "strategy-a" => {
            let mut r = Rules::default();
            for c in FLAGGABLE_VIEW_SUBCLASSES {
                r.add(&format!("*.{}", short(c)), "view");
            }
            r.add("*.TsysflagResults", "components");
            r.add("*.WvrgcalResult", "view");
            Some(r)
        }
        _ => None,
    }
}

/// Expands a rule on a known base class (`*.FlaggableViewResults` or its dotted name) to the
/// concrete subclasses, since a pickle names only concrete classes.
pub fn expand_bases(rules: &Rules) -> Rules {
    let mut out = rules.clone();
    for r in &rules.transient {
        for (base, subs) in HIERARCHY {
            if short(&r.class) == *base {
                for s in *subs {
                    for a in &r.attrs {
                        out.add(&format!("*.{}", short(s)), a);
                    }
                }
            }
        }
    }
    out
}

/// Expands rules over class statements read from source (`--classes-from`): a class whose
/// own `module.Name` or any ancestor's matches a rule gets that rule's attributes, by its
/// dotted name. Returns the expanded rules and, per added class, the rule class that reached it.
pub fn expand_with(rules: &Rules, defs: &[ClassDef]) -> (Rules, Vec<(String, String)>) {
    let mut out = rules.clone();
    let mut added = Vec::new();
    for m in crate::guards::classes::marked(rules, defs) {
        if m.module.is_empty() {
            continue;
        }
        let qual = format!("{}.{}", m.module, m.name);
        if rules.matches(&qual, &m.attr).is_none() {
            out.add(&qual, &m.attr);
            added.push((format!("{qual}.{}", m.attr), m.via.clone()));
        }
    }
    (out, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_a_is_the_nine_subclasses_components_and_wvrgcal_view() {
        let p = preset("strategy-a").unwrap_or_default();
        let marked = |c: &str, a: &str| p.matches(c, a).is_some();
        for c in FLAGGABLE_VIEW_SUBCLASSES {
            assert!(marked(c, "view"), "{c}");
        }
        assert_eq!(FLAGGABLE_VIEW_SUBCLASSES.len(), 9);
        assert!(marked(
            "pipeline.h.tasks.tsysflag.resultobjects.TsysflagResults",
            "components"
        ));
        assert!(marked(
            "pipeline.hifa.tasks.wvrgcal.resultobjects.WvrgcalResult",
            "view"
        ));
        // Not FlaggableViewResults in the pipeline's source.
        for c in [
            "pipeline.hifa.tasks.bandpassflag.resultobjects.BandpassflagResults",
            "pipeline.hifa.tasks.gfluxscaleflag.resultobjects.GfluxscaleflagResults",
            "pipeline.hifa.tasks.targetflag.targetflag.TargetflagResults",
            "pipeline.hifa.tasks.polcalflag.polcalflag.PolcalflagResults",
            "pipeline.hif.tasks.correctedampflag.resultobjects.CorrectedampflagResults",
        ] {
            assert!(!marked(c, "view"), "{c}");
        }
        assert!(!marked(
            "pipeline.hifa.tasks.wvrgcal.resultobjects.WvrgcalResult",
            "qa_wvr"
        ));
    }
}
