//! The flagging stages' own fields, one builder per task for both layouts: flag commands
//! around a `view`, and in the real layouts the view task's own result beside it.
//!
//! rawflagchans and lowgainflag share [`FlagView`]; tsysflag nests one flagging result per
//! metric in `components`; wvrgcalflag wraps the wvrgcal result in a matrix flagger's. The
//! real layouts' bandpassflag and gfluxscaleflag hold no view (`real.rs`).

use super::super::pickler::{Call, Object, Value};
use super::demo::{Demo, sv};
use super::results::Fields;
use super::tasks::{
    CRO, LOWGAINFLAG, N_ANT, RAWFLAGCHANS, TSYSFLAG, VIEWFLAGGERS, WVRGCAL, WVRGCALFLAG,
};

/// Polarisation keys of a view: one per correlation, or `[None]` for none.
type Pols<'a> = &'a [Option<&'a str>];
/// The names and units of a view's two axes.
type AxisNames<'a> = ((&'a str, &'a str), (&'a str, &'a str));

/// A flagging result built around one `view`: `flagging`, `view`, `vis`, (real layouts:
/// `dataresult`), `summaries`.
struct FlagView<'a> {
    /// The file the flag commands and the views name (the measurement set or a caltable).
    table: &'a str,
    rule: &'a str,
    nflag: usize,
    datatype: &'a str,
    intent: &'a str,
    pols: Pols<'a>,
    shape: [u64; 2],
    axes: AxisNames<'a>,
    /// Copies of each view entry (iterations of the flagger).
    copies: usize,
    /// The view task's result in the real layouts: (module, class, its polarisations, its
    /// view's shape).
    dataresult: Option<(&'a str, &'a str, Pols<'a>, [u64; 2])>,
}

impl Demo {
    fn flag_view(&mut self, vis: &str, v: FlagView) -> Fields {
        let mut f: Fields = vec![("flagging", self.flagcmds(v.table, v.rule, v.nflag))];
        let view = self.view(
            v.table, v.datatype, v.intent, v.pols, v.shape, v.axes, v.copies, None,
        );
        f.push(("view", view));
        f.push(("vis", sv(vis)));
        if self.real()
            && let Some((module, class, pols, shape)) = v.dataresult
        {
            let dview = self.view(v.table, v.datatype, v.intent, pols, shape, v.axes, 1, None);
            f.push((
                "dataresult",
                self.view_results(module, class, v.table, dview),
            ));
        }
        f.push(("summaries", self.summaries()));
        f
    }

    pub(super) fn rawflagchans(&mut self, file: &str) -> Fields {
        let nbl = (N_ANT * N_ANT) as u64;
        let pols = [Some("XX"), Some("YY")];
        let small = [self.nchan.div_ceil(4), nbl];
        self.flag_view(
            file,
            FlagView {
                table: file,
                rule: "bad quadrant",
                nflag: 12,
                datatype: "Mean amplitude",
                intent: "BANDPASS",
                pols: &pols,
                shape: [self.nchan, nbl],
                axes: (("channels", ""), ("Baseline", "")),
                copies: 2,
                dataresult: Some((RAWFLAGCHANS, "RawflagchansViewResults", &pols[..1], small)),
            },
        )
    }

    /// lowgainflag, and the classic layout's bandpassflag and gfluxscaleflag: gain-table views.
    pub(super) fn gain_flag(&mut self, task: &str, stage: u32, file: &str) -> Fields {
        let (shape, intent, pols, rule): ([u64; 2], _, Pols, _) = match task {
            "hif_lowgainflag" => ([N_ANT as u64, self.ntime], "BANDPASS", &[None], "nmedian"),
            "hifa_bandpassflag" => (
                [N_ANT as u64, self.nchan * 2],
                "BANDPASS",
                &[Some("XX"), Some("YY")],
                "outlier",
            ),
            _ => (
                [N_ANT as u64, self.ntime],
                "AMPLITUDE,PHASE",
                &[None],
                "outlier",
            ),
        };
        let table = format!("{file}.{task}.s{stage}_3.gpcal.tbl");
        let dataresult = (task == "hif_lowgainflag").then_some((
            LOWGAINFLAG,
            "LowgainflagViewResults",
            pols,
            [shape[0], shape[1].div_ceil(2)],
        ));
        self.flag_view(
            file,
            FlagView {
                table: &table,
                rule,
                nflag: 6,
                datatype: "Amplitude",
                intent,
                pols,
                shape,
                axes: (("Antenna", ""), ("Time", "s")),
                copies: 1,
                dataresult,
            },
        )
    }

    /// One `TsysflagspectraResults` per metric in an `OrderedDict`; in the real layouts each
    /// holds its view task's result (the vector flagger's for the per-antenna metric).
    pub(super) fn tsysflag(&mut self, file: &str) -> Fields {
        let table = format!("{file}.h_tsyscal.s6_1.tsyscal.tbl");
        let mut f: Fields = vec![
            ("pool", Value::List(Vec::new())),
            ("final", Value::List(Vec::new())),
            ("preceding", Value::List(Vec::new())),
            ("error", Value::Set(Vec::new())),
        ];
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
            let dataresult = if self.real() {
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
                let (module, class) = if m == "toomany" {
                    (VIEWFLAGGERS, "VectorFlaggerResults")
                } else {
                    (TSYSFLAG, "TsysflagViewResults")
                };
                Some((
                    "dataresult",
                    self.view_results(module, class, &table, dview),
                ))
            } else {
                None
            };
            let flagging = self.flagcmds(&table, m, 2);
            let comp = self.results_object(TSYSFLAG, "TsysflagspectraResults", |_| {
                let mut a: Fields = vec![
                    ("pool", Value::List(Vec::new())),
                    ("final", Value::List(Vec::new())),
                    ("preceding", Value::List(Vec::new())),
                    ("error", Value::Set(Vec::new())),
                    ("flagging", flagging),
                    ("view", view),
                ];
                a.extend(dataresult);
                a.push(("vis", sv(file)));
                a.push(("caltable", Value::Str(table.clone())));
                a
            });
            comps.push((sv(m), comp));
        }
        f.push((
            "components",
            Value::Object(Box::new(Object {
                call: Call::Reduce,
                callable: Value::global("collections", "OrderedDict"),
                args: Vec::new(),
                list_items: Vec::new(),
                dict_items: comps,
                state: None,
            })),
        ));
        f.extend([
            ("task_incomplete_reason", sv("")),
            ("refants_to_demote", Value::Set(vec![sv("DV12")])),
            ("refants_to_remove", Value::Set(Vec::new())),
            ("vis", sv(file)),
            ("caltable", Value::Str(table)),
        ]);
        f
    }

    /// A matrix flagger's result around the wvrgcal result (with its QA view); in the real
    /// layouts also the wvrgcalflag view task's result.
    pub(super) fn wvrgcalflag(&mut self, file: &str) -> Fields {
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
        // A QA result with a view that is no FlaggableViewResults (strategy-a keeps it): the
        // real layouts name it QaResult, the classic demo Qa2Result.
        let qa_class = if self.real() { "QaResult" } else { "Qa2Result" };
        let qa_wvr = Value::instance(
            CRO,
            qa_class,
            [
                ("overall_score", Value::Float(0.83)),
                ("view_score", Value::Dict(Vec::new())),
                ("view", qaview),
                ("flagging", Value::List(Vec::new())),
            ],
        );
        let dataresult = self.results_object(WVRGCAL, "WvrgcalResult", |_| {
            vec![
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
            ]
        });
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
        let flaggerresult = self.results_object(VIEWFLAGGERS, "MatrixFlaggerResults", |d| {
            vec![
                ("flagging", d.flagcmds(&table, "max abs", 3)),
                ("view", fview),
                ("vis", sv(file)),
                ("dataresult", dataresult),
            ]
        });
        let mut f: Fields = vec![("vis", sv(file)), ("flaggerresult", flaggerresult)];
        if self.real() {
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
            f.push((
                "viewresult",
                self.view_results(WVRGCALFLAG, "WvrgcalflagViewResults", &table, vview),
            ));
        }
        f.push(("qa_wvr_available", Value::Bool(true)));
        f
    }
}
