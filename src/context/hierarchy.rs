//! Known pipeline class hierarchies and the presets built on them ("strategy-a").

use crate::slim::Rules;

/// Concrete pipeline result classes that inherit `FlaggableViewResults` (and so its `view`).
pub const FLAGGABLE_VIEW_SUBCLASSES: &[&str] = &[
    "RawflagchansResults",
    "LowgainflagResults",
    "BandpassflagResults",
    "GfluxscaleflagResults",
    "TsysflagspectraResults",
    "MatrixFlaggerResults",
    "TargetflagResults",
    "PolcalflagResults",
    "CorrectedampflagResults",
    "FlaggableViewResults",
];

/// Base class -> known subclasses (short names), shipped as data.
pub const HIERARCHY: &[(&str, &[&str])] = &[("FlaggableViewResults", FLAGGABLE_VIEW_SUBCLASSES)];

/// Names of the presets `--preset` accepts.
pub const PRESETS: &[&str] = &["strategy-a"];

/// The rules of a preset, written for short class names (matched as `*.Name`).
pub fn preset(name: &str) -> Option<Rules> {
    match name {
        "strategy-a" => {
            let mut r = Rules::default();
            for c in FLAGGABLE_VIEW_SUBCLASSES {
                r.add(&format!("*.{c}"), "view");
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
        let short = r.class.rsplit('.').next().unwrap_or(&r.class);
        for (base, subs) in HIERARCHY {
            if short == *base {
                for s in *subs {
                    for a in &r.attrs {
                        out.add(&format!("*.{s}"), a);
                    }
                }
            }
        }
    }
    out
}
