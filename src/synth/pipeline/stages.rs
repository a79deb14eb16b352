//! Each stage's own fields: what a task's `Results` holds beyond the common attributes
//! (flagging views, calibration tables, imaging targets), in the classic layout.

use super::super::pickler::{Call, DType, Fill, NdArray, Object, Value};
use super::demo::{Demo, scaled, sv};
use super::tasks::{ANTENNAS, CRO, FIELDS, N_ANT, SPWS, classes};

impl Demo {
    pub(super) fn clean_target(
        &mut self,
        field: &str,
        intent: &str,
        spw: &str,
        specmode: &str,
    ) -> Value {
        let nchan = if specmode == "cube" {
            Value::Int(self.nchan as i64 * 4)
        } else {
            Value::Int(-1)
        };
        let items: Vec<(&str, Value)> = vec![
            ("antenna", Value::List(Vec::new())),
            ("field", Value::Str(format!("\"{field}\""))),
            ("intent", sv(intent)),
            ("spw", sv(spw)),
            (
                "spwsel_lsrk",
                Value::dict([(format!("spw{spw}"), sv("86.2~88.1GHz LSRK"))]),
            ),
            ("spwsel_all_cont", Value::Bool(false)),
            (
                "cell",
                Value::List(vec![sv("0.21arcsec"), sv("0.21arcsec")]),
            ),
            (
                "imsize",
                Value::List(vec![Value::Int(180), Value::Int(180)]),
            ),
            ("phasecenter", sv("ICRS 13:25:27.6150 -043.01.08.805")),
            ("specmode", sv(specmode)),
            ("gridder", sv("standard")),
            (
                "imagename",
                Value::Str(format!(
                    "oussid.s{}_0.{field}_{}.spw{spw}.{specmode}.I.iter1",
                    self.rng.below(40),
                    intent.to_lowercase()
                )),
            ),
            ("start", sv("")),
            ("width", sv("")),
            ("nbin", Value::Int(-1)),
            ("nchan", nchan),
            ("robust", Value::Float(0.5)),
            ("uvrange", Value::None),
            ("uvtaper", Value::List(Vec::new())),
            ("stokes", sv("I")),
            ("deconvolver", sv("hogbom")),
            ("nterms", Value::None),
            ("threshold", sv("0.0mJy")),
            (
                "sensitivity",
                Value::Float(0.000_3 + self.rng.f64() * 0.001),
            ),
            ("heuristics", Value::None),
            ("vis", Value::List(self.ms.iter().map(|m| sv(m)).collect())),
            ("is_per_eb", Value::Bool(false)),
            ("usepointing", Value::Bool(false)),
            ("mosweight", Value::Bool(false)),
        ];
        Value::Object(Box::new(Object {
            call: Call::NewObj,
            callable: Value::global("pipeline.hif.tasks.makeimlist.cleantarget", "CleanTarget"),
            args: Vec::new(),
            list_items: Vec::new(),
            dict_items: items.into_iter().map(|(k, v)| (sv(k), v)).collect(),
            state: None,
        }))
    }

    pub(super) fn specific(
        &mut self,
        task: &str,
        stage: u32,
        vis: Option<&str>,
    ) -> Vec<(String, Value)> {
        if self.real()
            && let Some(f) = self.real_specific(task, stage, vis)
        {
            return f;
        }
        let file = vis.unwrap_or("");
        let s = self.opts.scale;
        let mut f: Vec<(String, Value)> = Vec::new();
        let mut push = |k: &str, v: Value| f.push((k.to_string(), v));
        match task {
            "hifa_importdata" => {
                push(
                    "mses",
                    Value::List(
                        self.ms
                            .iter()
                            .map(|m| Value::Str(self.ms_path(m)))
                            .collect(),
                    ),
                );
                push("setjy_results", Value::List(Vec::new()));
                push("origin", Value::Dict(Vec::new()));
                push("fluxservice", sv("FIRSTURL"));
            }
            "hifa_flagdata" => {
                let summaries = vec![
                    self.summary("before", true),
                    self.summary("applyonline", true),
                    self.summary("template", false),
                    self.summary("after", true),
                ];
                push("summaries", Value::List(summaries));
                let n = scaled(40.0, s, 8) as usize;
                let cmds = (0..n)
                    .map(|i| {
                        Value::Str(format!(
                            "mode='manual' antenna='{}' timerange='2024/05/01/02:{:02}:{:02}~2024/05/01/02:{:02}:{:02}' reason='Online:ANTENNA_NOT_ON_SOURCE'",
                            ANTENNAS[i % N_ANT],
                            i % 60,
                            (i * 7) % 60,
                            (i + 1) % 60,
                            (i * 11) % 60
                        ))
                    })
                    .collect();
                push("flagcmds", Value::List(cmds));
                push("vis", sv(file));
            }
            "hif_rawflagchans" => {
                let nbl = (N_ANT * N_ANT) as u64;
                push("flagging", self.flagcmds(file, "bad quadrant", 12));
                let view = self.view(
                    file,
                    "Mean amplitude",
                    "BANDPASS",
                    &[Some("XX"), Some("YY")],
                    [self.nchan, nbl],
                    (("channels", ""), ("Baseline", "")),
                    2,
                    None,
                );
                push("view", view);
                push("vis", sv(file));
                push(
                    "summaries",
                    Value::List(vec![
                        self.summary("before", false),
                        self.summary("after", false),
                    ]),
                );
            }
            "h_tsyscal" => {
                let table = format!("{file}.h_tsyscal.s6_1.tsyscal.tbl");
                let app = self.cal_application(file, &table, "tsys", "17,19,21,23");
                push("pool", Value::List(vec![app.clone()]));
                push("final", Value::List(vec![app]));
                push("preceding", Value::List(Vec::new()));
                push("error", Value::Set(Vec::new()));
                push("vis", sv(file));
                push("unmappedspws", Value::Dict(Vec::new()));
            }
            "hifa_tsysflag" => {
                let table = format!("{file}.h_tsyscal.s6_1.tsyscal.tbl");
                push("pool", Value::List(Vec::new()));
                push("final", Value::List(Vec::new()));
                push("preceding", Value::List(Vec::new()));
                push("error", Value::Set(Vec::new()));
                let metrics = [
                    "nmedian",
                    "derivative",
                    "edgechans",
                    "fieldshape",
                    "birdies",
                    "toomany",
                ];
                let mut comps = Vec::new();
                for m in metrics {
                    let module = classes("hifa_tsysflag").0.0;
                    let view = self.view(
                        &table,
                        "Median Tsys",
                        "ATMOSPHERE",
                        &[None],
                        [self.ntime.max(4), N_ANT as u64],
                        (("Time", "s"), ("Antenna", "")),
                        1,
                        None,
                    );
                    let flagging = self.flagcmds(&table, m, 2);
                    let comp = Value::instance(
                        module,
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
                            ("vis", sv(file)),
                            ("caltable", Value::Str(table.clone())),
                        ],
                    );
                    comps.push((sv(m), comp));
                }
                push(
                    "components",
                    Value::Object(Box::new(Object {
                        call: Call::Reduce,
                        callable: Value::global("collections", "OrderedDict"),
                        args: Vec::new(),
                        list_items: Vec::new(),
                        dict_items: comps,
                        state: None,
                    })),
                );
                push("task_incomplete_reason", sv(""));
                push("refants_to_demote", Value::Set(vec![sv("DV12")]));
                push("refants_to_remove", Value::Set(Vec::new()));
                push("vis", sv(file));
                push("caltable", Value::Str(table));
            }
            "hifa_wvrgcalflag" => {
                let table = format!("{file}.hifa_wvrgcalflag.s10_2.wvrcal.tbl");
                let shape = [self.nchan, N_ANT as u64];
                let axes = (("Time", "s"), ("Antenna", ""));
                let dview = self.view(
                    &table,
                    "WVR phase RMS improvement",
                    "PHASE",
                    &[None],
                    shape,
                    axes,
                    1,
                    Some((1, "J1337-1257")),
                );
                let qaview = self.view(
                    &table,
                    "WVR QA",
                    "PHASE",
                    &[None],
                    [4, N_ANT as u64],
                    axes,
                    1,
                    Some((1, "J1337-1257")),
                );
                let app = self.cal_application(file, &table, "wvr", "17,19,21,23");
                let qa_wvr = Value::instance(
                    CRO,
                    "Qa2Result",
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
                    "pipeline.h.tasks.common.viewflaggers",
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
                push("vis", sv(file));
                push("flaggerresult", flaggerresult);
                push("qa_wvr_available", Value::Bool(true));
            }
            "hif_lowgainflag" | "hifa_bandpassflag" | "hifa_gfluxscaleflag" => {
                let (shape, axes, intent, pols, rule): ([u64; 2], _, _, &[Option<&str>], _) =
                    match task {
                        "hif_lowgainflag" => (
                            [N_ANT as u64, self.ntime],
                            (("Antenna", ""), ("Time", "s")),
                            "BANDPASS",
                            &[None],
                            "nmedian",
                        ),
                        "hifa_bandpassflag" => (
                            [N_ANT as u64, self.nchan * 2],
                            (("Antenna", ""), ("Time", "s")),
                            "BANDPASS",
                            &[Some("XX"), Some("YY")],
                            "outlier",
                        ),
                        _ => (
                            [N_ANT as u64, self.ntime],
                            (("Antenna", ""), ("Time", "s")),
                            "AMPLITUDE,PHASE",
                            &[None],
                            "outlier",
                        ),
                    };
                let table = format!("{file}.{task}.s{stage}_3.gpcal.tbl");
                push("flagging", self.flagcmds(&table, rule, 6));
                let view = self.view(&table, "Amplitude", intent, pols, shape, axes, 1, None);
                push("view", view);
                push("vis", sv(file));
                push(
                    "summaries",
                    Value::List(vec![
                        self.summary("before", false),
                        self.summary("after", false),
                    ]),
                );
            }
            "hifa_bandpass" => {
                let table =
                    format!("{file}.hifa_bandpass.s14_5.spw17_19_21_23.channel.solintinf.bcal.tbl");
                let app = self.cal_application(file, &table, "bandpass", "17,19,21,23");
                push("pool", Value::List(vec![app.clone()]));
                push("final", Value::List(vec![app]));
                push("preceding", Value::List(Vec::new()));
                push("error", Value::Set(Vec::new()));
                push("applies_adopted", Value::Bool(false));
                push("unregister_existing", Value::Bool(false));
                let mut sols = Vec::new();
                for spw in SPWS {
                    let shape = [2, self.nchan, N_ANT as u64];
                    let sol = Value::dict([
                        (
                            "gain",
                            Value::array(NdArray::synth(
                                DType::C16,
                                &shape,
                                self.seed(),
                                Fill::Noise {
                                    mean: 1.0,
                                    sigma: 0.03,
                                },
                            )),
                        ),
                        (
                            "flag",
                            Value::array(NdArray::synth(
                                DType::Bool,
                                &shape,
                                self.seed(),
                                Fill::Sparse { density: 0.01 },
                            )),
                        ),
                        (
                            "snr",
                            Value::array(NdArray::synth(
                                DType::F4,
                                &shape,
                                self.seed(),
                                Fill::Noise {
                                    mean: 40.0,
                                    sigma: 8.0,
                                },
                            )),
                        ),
                        (
                            "frequency",
                            Value::array(NdArray::synth(
                                DType::F8,
                                &[self.nchan],
                                self.seed(),
                                Fill::Arange {
                                    start: 86.0e9,
                                    step: 488_281.25,
                                },
                            )),
                        ),
                    ]);
                    sols.push((Value::Int(spw), sol));
                }
                push("solutions", Value::Dict(sols));
                push("qa_phaseup_snr", Value::Float(42.7));
            }
            "hif_makeimlist" => {
                let (intent, specmode, base) = match stage {
                    22 => ("PHASE,BANDPASS,CHECK", "mfs", 8.0),
                    24 => ("PHASE,BANDPASS,CHECK", "cont", 6.0),
                    31 => ("TARGET", "mfs", 12.0),
                    44 | 46 => ("TARGET", "cube", 16.0),
                    _ => ("TARGET", "cont", 6.0),
                };
                let n = scaled(base, s, 2) as usize;
                let targets = (0..n)
                    .map(|i| {
                        let field = FIELDS[i % FIELDS.len()].0;
                        let spw = SPWS[i % SPWS.len()].to_string();
                        self.clean_target(
                            field,
                            intent.split(',').next().unwrap_or(intent),
                            &spw,
                            specmode,
                        )
                    })
                    .collect();
                push("targets", Value::List(targets));
                push("clean_list_info", Value::Dict(Vec::new()));
                push("max_num_targets", Value::Int(n as i64));
                push("mitigation_error", Value::Bool(false));
                push("synthesized_beams", Value::Dict(Vec::new()));
            }
            "hif_makeimages" => {
                let n = scaled(4.0, s.sqrt(), 2) as usize;
                let results = (0..n)
                    .map(|i| {
                        Value::instance(
                            "pipeline.hif.tasks.tclean.resultobjects",
                            "TcleanResult",
                            [
                                ("vis", Value::List(self.ms.iter().map(|m| sv(m)).collect())),
                                ("sourcename", sv(FIELDS[i % FIELDS.len()].0)),
                                ("intent", sv("TARGET")),
                                ("spw", sv(&SPWS[i % SPWS.len()].to_string())),
                                ("specmode", sv("mfs")),
                                ("imaging_mode", sv("ALMA")),
                                (
                                    "iterations",
                                    Value::Dict(vec![(
                                        Value::Int(0),
                                        Value::dict([
                                            (
                                                "image",
                                                Value::Str(format!("s{stage}_0.iter0.image")),
                                            ),
                                            (
                                                "residual",
                                                Value::Str(format!("s{stage}_0.iter0.residual")),
                                            ),
                                        ]),
                                    )]),
                                ),
                                ("image_max", Value::Float(self.rng.normal(0.2, 0.05))),
                                (
                                    "image_rms",
                                    Value::Float(self.rng.normal(0.000_4, 0.000_05)),
                                ),
                                ("dirty_dynamic_range", Value::Float(120.0)),
                                ("bad_psf_channels", Value::None),
                            ],
                        )
                    })
                    .collect();
                push("results", Value::List(results));
                push("targets", Value::List(Vec::new()));
            }
            "hif_selfcal" => {
                let scal = (0..3)
                    .map(|i| {
                        Value::dict([
                            ("field", sv(FIELDS[i].0)),
                            ("spw", sv("17,19,21,23")),
                            ("sc_success", Value::Bool(i != 1)),
                            (
                                "solints",
                                Value::List(
                                    ["inf_EB", "inf", "18.14s", "int"]
                                        .iter()
                                        .map(|s| sv(s))
                                        .collect(),
                                ),
                            ),
                            ("SNR_pre", Value::Float(self.rng.normal(80.0, 10.0))),
                            ("SNR_post", Value::Float(self.rng.normal(140.0, 10.0))),
                        ])
                    })
                    .collect();
                push("targets", Value::List(scal));
                push("is_restore", Value::Bool(false));
            }
            "hif_refant" => {
                push("vis", sv(file));
                let mut ants: Vec<&str> = ANTENNAS[..N_ANT].to_vec();
                ants.rotate_left(self.rng.below(N_ANT as u64) as usize);
                push("_refant", Value::Str(ants.join(",")));
            }
            _ => {
                if let Some(v) = vis {
                    push("vis", sv(v));
                }
                push("pool", Value::List(Vec::new()));
                push("final", Value::List(Vec::new()));
            }
        }
        f
    }
}
