//! The stage fields of the demo's "real" layouts: what a current pipeline release writes
//! beyond the classic demo.
//!
//! The 9 `FlaggableViewResults` subclasses each holding a `view` (the view-result classes sit
//! in a `dataresult` or `viewresult` attribute of their task's result), tsysflag `components`
//! of `TsysflagspectraResults`, `CorrectedampflagResults` (flag commands, no view) in the
//! bandpassflag and gfluxscaleflag stages. The real layouts' nested views
//! (`ImageResult.children`) are built in `views.rs`, their `__slots__` domain classes
//! (25-field `SpectralWindow`, `CalFrom` with mangled slots, `StateALMA`, the measures, the
//! `operator.attrgetter('id')` of a `MeasurementSet`) in `domain.rs`.

use super::super::pickler::{Call, Object, Value};
use super::demo::{Demo, scaled, sv};
use super::tasks::{CRO, N_ANT};

const VIEWFLAGGERS: &str = "pipeline.h.tasks.common.viewflaggers";
const RAWFLAGCHANS: &str = "pipeline.hif.tasks.rawflagchans.resultobjects";
const LOWGAINFLAG: &str = "pipeline.hif.tasks.lowgainflag.resultobjects";
const TSYSFLAG: &str = "pipeline.h.tasks.tsysflag.resultobjects";
const WVRGCALFLAG: &str = "pipeline.hifa.tasks.wvrgcalflag.resultobjects";
const CORRECTEDAMPFLAG: &str = "pipeline.hifa.tasks.correctedampflag.resultobjects";

impl Demo {
    /// The task-specific fields of a task whose real layout differs from the classic demo's;
    /// `None` for the others.
    pub(super) fn real_specific(
        &mut self,
        task: &str,
        stage: u32,
        vis: Option<&str>,
    ) -> Option<Vec<(String, Value)>> {
        let file = vis.unwrap_or("");
        let mut f: Vec<(String, Value)> = Vec::new();
        match task {
            "hif_rawflagchans" => {
                let nbl = (N_ANT * N_ANT) as u64;
                let shape = [self.nchan, nbl];
                let axes = (("channels", ""), ("Baseline", ""));
                let pols = [Some("XX"), Some("YY")];
                f.push(("flagging".into(), self.flagcmds(file, "bad quadrant", 12)));
                let view = self.view(
                    file,
                    "Mean amplitude",
                    "BANDPASS",
                    &pols,
                    shape,
                    axes,
                    2,
                    None,
                );
                f.push(("view".into(), view));
                f.push(("vis".into(), sv(file)));
                let small = [self.nchan.div_ceil(4), nbl];
                let dview = self.view(
                    file,
                    "Mean amplitude",
                    "BANDPASS",
                    &pols[..1],
                    small,
                    axes,
                    1,
                    None,
                );
                f.push((
                    "dataresult".into(),
                    self.view_results(RAWFLAGCHANS, "RawflagchansViewResults", file, dview),
                ));
                f.push((
                    "summaries".into(),
                    Value::List(vec![
                        self.summary("before", false),
                        self.summary("after", false),
                    ]),
                ));
            }
            "hifa_tsysflag" => {
                let table = format!("{file}.h_tsyscal.s6_1.tsyscal.tbl");
                for k in ["pool", "final", "preceding"] {
                    f.push((k.into(), Value::List(Vec::new())));
                }
                f.push(("error".into(), Value::Set(Vec::new())));
                let metrics = [
                    "nmedian",
                    "derivative",
                    "edgechans",
                    "fieldshape",
                    "birdies",
                    "toomany",
                ];
                let shape = [self.ntime.max(4), N_ANT as u64];
                let axes = (("Time", "s"), ("Antenna", ""));
                let mut comps = Vec::new();
                for m in metrics {
                    let view = self.view(
                        &table,
                        "Median Tsys",
                        "ATMOSPHERE",
                        &[None],
                        shape,
                        axes,
                        1,
                        None,
                    );
                    let dview = self.view(
                        &table,
                        "Median Tsys",
                        "ATMOSPHERE",
                        &[None],
                        [shape[0].div_ceil(2), shape[1]],
                        axes,
                        1,
                        None,
                    );
                    // The vector flagger's result for the per-antenna metric, the view task's
                    // result for the others.
                    let dataresult = if m == "toomany" {
                        self.view_results(VIEWFLAGGERS, "VectorFlaggerResults", &table, dview)
                    } else {
                        self.view_results(TSYSFLAG, "TsysflagViewResults", &table, dview)
                    };
                    let flagging = self.flagcmds(&table, m, 2);
                    let comp = Value::instance(
                        TSYSFLAG,
                        "TsysflagspectraResults",
                        [
                            ("_uuid", self.random_uuid()),
                            ("qa", self.qa_pool(Vec::new(), None)),
                            ("_metadata", Value::Dict(Vec::new())),
                            ("pool", Value::List(Vec::new())),
                            ("final", Value::List(Vec::new())),
                            ("preceding", Value::List(Vec::new())),
                            ("error", Value::Set(Vec::new())),
                            ("flagging", flagging),
                            ("view", view),
                            ("dataresult", dataresult),
                            ("vis", sv(file)),
                            ("caltable", Value::Str(table.clone())),
                        ],
                    );
                    comps.push((sv(m), comp));
                }
                f.push((
                    "components".into(),
                    Value::Object(Box::new(Object {
                        call: Call::Reduce,
                        callable: Value::global("collections", "OrderedDict"),
                        args: Vec::new(),
                        list_items: Vec::new(),
                        dict_items: comps,
                        state: None,
                    })),
                ));
                f.push(("task_incomplete_reason".into(), sv("")));
                f.push(("refants_to_demote".into(), Value::Set(vec![sv("DV12")])));
                f.push(("refants_to_remove".into(), Value::Set(Vec::new())));
                f.push(("vis".into(), sv(file)));
                f.push(("caltable".into(), Value::Str(table)));
            }
            "hifa_wvrgcalflag" => {
                let table = format!("{file}.hifa_wvrgcalflag.s10_2.wvrcal.tbl");
                let shape = [self.nchan, N_ANT as u64];
                let axes = (("Time", "s"), ("Antenna", ""));
                let phase = Some((1, "J1337-1257"));
                let dview = self.view(
                    &table,
                    "WVR phase RMS improvement",
                    "PHASE",
                    &[None],
                    shape,
                    axes,
                    1,
                    phase,
                );
                let qaview = self.view(
                    &table,
                    "WVR QA",
                    "PHASE",
                    &[None],
                    [4, N_ANT as u64],
                    axes,
                    1,
                    phase,
                );
                let app = self.cal_application(file, &table, "wvr", "17,19,21,23");
                // QaResult has a view but is no FlaggableViewResults: strategy-a keeps it.
                let qa_wvr = Value::instance(
                    CRO,
                    "QaResult",
                    [
                        ("overall_score", Value::Float(0.83)),
                        ("view_score", Value::Dict(Vec::new())),
                        ("view", qaview),
                        ("flagging", Value::List(Vec::new())),
                    ],
                );
                let dataresult = Value::instance(
                    "pipeline.hifa.tasks.wvrgcal.resultobjects",
                    "WvrgcalResult",
                    [
                        ("_uuid", self.random_uuid()),
                        ("qa", self.qa_pool(Vec::new(), None)),
                        ("_metadata", Value::Dict(Vec::new())),
                        ("vis", sv(file)),
                        ("pool", Value::List(vec![app.clone()])),
                        ("final", Value::List(vec![app])),
                        ("preceding", Value::List(Vec::new())),
                        ("wvrflag", Value::List(vec![sv("DV07")])),
                        ("view", dview),
                        ("qa_wvr", qa_wvr),
                        ("suggest_remcloud", Value::Bool(false)),
                        ("tie", sv("")),
                        ("sourceflag", Value::List(Vec::new())),
                    ],
                );
                let fview = self.view(
                    &table,
                    "WVR phase RMS improvement",
                    "BANDPASS,PHASE",
                    &[None],
                    shape,
                    axes,
                    1,
                    None,
                );
                let flaggerresult = Value::instance(
                    VIEWFLAGGERS,
                    "MatrixFlaggerResults",
                    [
                        ("_uuid", self.random_uuid()),
                        ("qa", self.qa_pool(Vec::new(), None)),
                        ("_metadata", Value::Dict(Vec::new())),
                        ("flagging", self.flagcmds(&table, "max abs", 3)),
                        ("view", fview),
                        ("vis", sv(file)),
                        ("dataresult", dataresult),
                    ],
                );
                let vview = self.view(
                    &table,
                    "WVR phase RMS improvement",
                    "PHASE",
                    &[None],
                    [shape[0].div_ceil(2), shape[1]],
                    axes,
                    1,
                    phase,
                );
                f.push(("vis".into(), sv(file)));
                f.push(("flaggerresult".into(), flaggerresult));
                f.push((
                    "viewresult".into(),
                    self.view_results(WVRGCALFLAG, "WvrgcalflagViewResults", &table, vview),
                ));
                f.push(("qa_wvr_available".into(), Value::Bool(true)));
            }
            "hif_lowgainflag" => {
                let table = format!("{file}.{task}.s{stage}_3.gpcal.tbl");
                let shape = [N_ANT as u64, self.ntime];
                let axes = (("Antenna", ""), ("Time", "s"));
                f.push(("flagging".into(), self.flagcmds(&table, "nmedian", 6)));
                let view = self.view(
                    &table,
                    "Amplitude",
                    "BANDPASS",
                    &[None],
                    shape,
                    axes,
                    1,
                    None,
                );
                f.push(("view".into(), view));
                f.push(("vis".into(), sv(file)));
                let dview = self.view(
                    &table,
                    "Amplitude",
                    "BANDPASS",
                    &[None],
                    [shape[0], shape[1].div_ceil(2)],
                    axes,
                    1,
                    None,
                );
                f.push((
                    "dataresult".into(),
                    self.view_results(LOWGAINFLAG, "LowgainflagViewResults", &table, dview),
                ));
                f.push((
                    "summaries".into(),
                    Value::List(vec![
                        self.summary("before", false),
                        self.summary("after", false),
                    ]),
                ));
            }
            // The current source: a CorrectedampflagResults with flag commands and no view.
            "hifa_bandpassflag" | "hifa_gfluxscaleflag" => {
                let table = format!("{file}.{task}.s{stage}_3.gpcal.tbl");
                let n = scaled(40.0, self.opts.scale.sqrt(), 6) as usize;
                let caf = Value::instance(
                    CORRECTEDAMPFLAG,
                    "CorrectedampflagResults",
                    [
                        ("_uuid", self.random_uuid()),
                        ("qa", self.qa_pool(Vec::new(), None)),
                        ("_metadata", Value::Dict(Vec::new())),
                        ("vis", sv(file)),
                        ("flagging", self.flagcmds(&table, "outlier", n)),
                        (
                            "summaries",
                            Value::List(vec![
                                self.summary("before", false),
                                self.summary("after", false),
                            ]),
                        ),
                        ("updated_refants", Value::List(Vec::new())),
                    ],
                );
                f.push(("vis".into(), sv(file)));
                f.push(("cafresult".into(), caf));
                f.push(("plots".into(), Value::Dict(Vec::new())));
            }
            _ => return None,
        }
        Some(f)
    }
}
