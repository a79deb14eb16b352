//! The demo's "real" layouts: what a current pipeline release writes beyond the classic demo.
//!
//! Nested views (`ImageResult.children` holding further `ImageResult`s and `SpectrumResult`s),
//! the 9 `FlaggableViewResults` subclasses each holding a `view` (the view-result classes sit
//! in a `dataresult` or `viewresult` attribute of their task's result), tsysflag `components`
//! of `TsysflagspectraResults`, `CorrectedampflagResults` (flag commands, no view) in the
//! bandpassflag and gfluxscaleflag stages, `__slots__` domain classes (a 25-field
//! `SpectralWindow` tuple, `CalFrom` with mangled slots and `__getnewargs__`, `StateALMA`,
//! the measures classes), namedtuples, and `operator.attrgetter('id')` stored in a
//! `MeasurementSet`'s `RetrieveByIndexContainer`.

use super::super::pickler::{Call, DType, Fill, NdArray, Object, Value};
use super::{CALLIB, CRO, DEMO_OUTPUT_DIR, Demo, MEASURES, N_ANT, SPWS, scaled, sv};

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

    /// One of the view-result classes: a `FlaggableViewResults` with its own `view`.
    fn view_results(&mut self, module: &str, class: &str, file: &str, view: Value) -> Value {
        Value::instance(
            module,
            class,
            [
                ("_uuid", self.random_uuid()),
                ("qa", self.qa_pool(Vec::new(), None)),
                ("_metadata", Value::Dict(Vec::new())),
                ("flagging", Value::List(Vec::new())),
                ("view", view),
                ("vis", sv(file)),
            ],
        )
    }

    /// `children` of a view's first `ImageResult`: a refined `ImageResult` (half the channels,
    /// itself with a child) and a `SpectrumResult` per antenna pair row, so an `ImageResult`
    /// sits inside another one and `ImageResult.data` nests in itself.
    pub(super) fn children(
        &mut self,
        file: &str,
        shape: [u64; 2],
        axes: &Value,
        intent: &str,
        spw: i64,
        pol: Option<&str>,
    ) -> Value {
        let half = [shape[0].div_ceil(2), shape[1]];
        let quarter = [shape[0].div_ceil(4), shape[1]];
        let mut inner = self.image_result(
            file, "refined", quarter, axes, intent, None, spw, pol, "", None,
        );
        let spectra: Vec<Value> = (0..2)
            .map(|i| self.spectrum(file, shape[0], spw, pol, i))
            .collect();
        set_attrs(
            &mut inner,
            vec![("children", Value::dict([("spectra", Value::List(spectra))]))],
        );
        let mut refined = self.image_result(
            file, "refined", half, axes, intent, None, spw, pol, "", None,
        );
        set_attrs(
            &mut refined,
            vec![("children", Value::dict([("refined", inner)]))],
        );
        let spectra: Vec<Value> = (0..2)
            .map(|i| self.spectrum(file, shape[0], spw, pol, i))
            .collect();
        Value::dict([("refined", refined), ("spectra", Value::List(spectra))])
    }

    fn spectrum(&mut self, file: &str, n: u64, spw: i64, pol: Option<&str>, ant: usize) -> Value {
        let data = NdArray::synth(
            DType::F8,
            &[n],
            self.seed(),
            Fill::Noise {
                mean: 1.0,
                sigma: 0.05,
            },
        );
        let flag = NdArray::synth(
            DType::Bool,
            &[n],
            self.seed(),
            Fill::Sparse { density: 0.02 },
        );
        Value::instance(
            CRO,
            "SpectrumResult",
            [
                ("filename", sv(file)),
                ("data", Value::array(data)),
                ("flag", Value::array(flag)),
                ("datatype", sv("Median Tsys")),
                ("spw", Value::Int(spw)),
                ("pol", pol.map_or(Value::None, sv)),
                ("ant", Value::Int(ant as i64)),
                ("units", sv("K")),
            ],
        )
    }

    /// `SpectralWindow`: `__slots__` and a `__getstate__` returning a 25-field tuple.
    pub(super) fn real_spectral_window(&mut self, spw: i64, nchan: u64) -> Value {
        let f0 = 86.0 + (spw - 17) as f64 * 0.9;
        let width = 0.001_953_125 * 128.0 / nchan as f64;
        let bw = self.frequency(width * nchan as f64);
        let reff = self.frequency(f0);
        let mean = self.frequency(f0 + width * nchan as f64 / 2.0);
        let min = self.frequency(f0);
        let max = self.frequency(f0 + width * nchan as f64);
        let lo = self.frequency(f0 - 4.0);
        let chan = |this: &mut Demo, start: f64, step: f64| {
            Value::array(NdArray::synth(
                DType::F8,
                &[nchan],
                this.seed(),
                Fill::Arange { start, step },
            ))
        };
        let freqs = chan(self, f0 * 1e9, width * 1e9);
        let widths = chan(self, width * 1e9, 0.0);
        let effbw = chan(self, width * 1e9 * 1.15, 0.0);
        Value::newobj(
            "pipeline.domain.spectralwindow",
            "SpectralWindow",
            Vec::new(),
            Some(Value::Tuple(vec![
                Value::Int(spw),
                Value::Str(format!(
                    "X{}#ALMA_RB_03#BB_{}#SW-01#FULL_RES",
                    800 + spw,
                    1 + (spw - 17) / 2
                )),
                sv("TDM"),
                bw,
                reff,
                mean,
                min,
                max,
                sv("ALMA Band 3"),
                Value::Int(nchan as i64),
                Value::Set(vec![sv("BANDPASS"), sv("PHASE"), sv("TARGET"), sv("FLUX")]),
                Value::Int(if spw < 20 { 1 } else { -1 }),
                Value::Int(1 + (spw - 17) / 2),
                Value::List(vec![sv("N2H+_v_0_1-0(ID=1734201)")]),
                sv("X1013209920#1"),
                freqs,
                widths,
                effbw,
                Value::List(vec![lo]),
                sv("BB_1"),
                Value::Int(0),
                Value::Int(0),
                sv("LSRK"),
                Value::Bool(false),
                Value::Float(0.0),
            ])),
        )
    }

    /// A `domain.measures` value (`Frequency`, `FileSize`, ...): `__slots__` with a
    /// `(value, units)` tuple state.
    pub(super) fn measure(&mut self, class: &str, value: String, units: Value) -> Value {
        Value::newobj(
            MEASURES,
            class,
            Vec::new(),
            Some(Value::Tuple(vec![
                // Decimal.__reduce__ gives a new str each time: a distinct object.
                Value::reduce(
                    Value::global("decimal", "Decimal"),
                    vec![Value::FreshStr(value)],
                ),
                units,
            ])),
        )
    }

    /// `CalFrom`: mangled `__slots__` (`_CalFrom__gaintable`, ...), `__getnewargs__` giving
    /// the constructor arguments and `__getstate__` the slot values as a tuple.
    pub(super) fn real_calfrom(&mut self, table: &str, caltype: &str) -> Value {
        let gaintable = Value::Str(format!("{DEMO_OUTPUT_DIR}/{table}"));
        let (gainfield, interp, spwmap) =
            (sv(""), sv("linear,linearflag"), Value::Tuple(Vec::new()));
        let (caltype, calwt) = (sv(caltype), Value::Bool(false));
        let args = vec![
            gaintable.clone(),
            gainfield.clone(),
            interp.clone(),
            spwmap.clone(),
            caltype.clone(),
            calwt.clone(),
        ];
        let state = Value::Tuple(vec![caltype, calwt, gainfield, gaintable, interp, spwmap]);
        Value::newobj(CALLIB, "CalFrom", args, Some(state))
    }

    /// The attributes a real `MeasurementSet` has beyond the classic demo's: states
    /// (`StateALMA`, slots tuple), data descriptions in a `RetrieveByIndexContainer` whose
    /// index function is `operator.attrgetter('id')` (constructed, never called), the size.
    pub(super) fn real_ms_extras(&mut self) -> Vec<(&'static str, Value)> {
        let states = (0..4)
            .map(|i| {
                Value::newobj(
                    "pipeline.domain.state",
                    "StateALMA",
                    Vec::new(),
                    Some(Value::Tuple(vec![
                        Value::Int(i),
                        Value::Str(
                            [
                                "CALIBRATE_BANDPASS#ON_SOURCE",
                                "CALIBRATE_PHASE#ON_SOURCE",
                                "OBSERVE_TARGET#ON_SOURCE",
                                "CALIBRATE_WVR#ON_SOURCE",
                            ][i as usize]
                                .to_string(),
                        ),
                        Value::Dict(Vec::new()),
                    ])),
                )
            })
            .collect();
        let dds: Vec<Value> = SPWS
            .iter()
            .enumerate()
            .map(|(i, &spw)| {
                Value::instance(
                    "pipeline.domain.datadescription",
                    "DataDescription",
                    [
                        ("id", Value::Int(i as i64)),
                        ("spw", Value::Int(spw)),
                        ("pol_id", Value::Int(0)),
                        ("obs_time", Value::None),
                    ],
                )
            })
            .collect();
        let container = Value::instance(
            "pipeline.infrastructure.utils.utils",
            "RetrieveByIndexContainer",
            [
                ("_RetrieveByIndexContainer__container", Value::List(dds)),
                (
                    "_RetrieveByIndexContainer__index_fn",
                    Value::reduce(Value::global("operator", "attrgetter"), vec![sv("id")]),
                ),
            ],
        );
        let filesize = self.measure(
            "FileSize",
            "9876543210".into(),
            Value::reduce(
                Value::global(MEASURES, "FileSizeUnits"),
                vec![Value::Int(1)],
            ),
        );
        vec![
            ("states", Value::List(states)),
            ("data_descriptions", container),
            ("filesize", filesize),
        ]
    }
}

/// Sets attributes in an instance's `BUILD` dict: an existing one keeps its place, a new one
/// goes last.
pub(super) fn set_attrs(obj: &mut Value, attrs: Vec<(&str, Value)>) {
    let Value::Object(o) = obj else {
        return;
    };
    let Some(Value::Dict(items)) = &mut o.state else {
        return;
    };
    for (name, value) in attrs {
        match items
            .iter_mut()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == name))
        {
            Some((_, v)) => *v = value,
            None => items.push((sv(name), value)),
        }
    }
}
