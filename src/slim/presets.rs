//! Built-in rule sets (`--preset strategy-a`) and the pipeline class hierarchies they rely on:
//! a rule on a known base class reaches its subclasses, since a pickle names only concrete
//! classes. Hierarchies read from source (`--classes-from`) are `guards::classes::expand_with`.

use super::Rules;

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
