//! Each stage's own fields: what a task's `Results` holds beyond the common attributes
//! (calibration tables, imaging targets, flag summaries); the flagging stages' builders are in
//! `flagging.rs`, the real layouts' own in `real.rs`.

use super::super::pickler::{Call, DType, Fill, NdArray, Object, Value};
use super::demo::{Demo, scaled, sv};
use super::results::Fields;
use super::tasks::{ANTENNAS, FIELDS, N_ANT, SPWS};

impl Demo {
    /// The fields task `task` adds to its `Results` at stage `stage` (`vis`: the measurement
    /// set of a per-MS result).
    pub(super) fn specific(&mut self, task: &str, stage: u32, vis: Option<&str>) -> Fields {
        let file = vis.unwrap_or("");
        match task {
            "hifa_importdata" => vec![
                (
                    "mses",
                    Value::List(
                        self.ms
                            .iter()
                            .map(|m| Value::Str(self.ms_path(m)))
                            .collect(),
                    ),
                ),
                ("setjy_results", Value::List(Vec::new())),
                ("origin", Value::Dict(Vec::new())),
                ("fluxservice", sv("FIRSTURL")),
            ],
            "hifa_flagdata" => self.flagdata(file),
            "hif_rawflagchans" => self.rawflagchans(file),
            "h_tsyscal" => {
                let table = format!("{file}.h_tsyscal.s6_1.tsyscal.tbl");
                let app = self.cal_application(file, &table, "tsys", "17,19,21,23");
                let mut f = Demo::applied(app);
                f.push(("vis", sv(file)));
                f.push(("unmappedspws", Value::Dict(Vec::new())));
                f
            }
            "hifa_tsysflag" => self.tsysflag(file),
            "hifa_wvrgcalflag" => self.wvrgcalflag(file),
            "hifa_bandpassflag" | "hifa_gfluxscaleflag" if self.real() => {
                self.correctedampflag(task, stage, file)
            }
            "hif_lowgainflag" | "hifa_bandpassflag" | "hifa_gfluxscaleflag" => {
                self.gain_flag(task, stage, file)
            }
            "hifa_bandpass" => self.bandpass(file),
            "hif_makeimlist" => self.makeimlist(stage),
            "hif_makeimages" => self.makeimages(stage),
            "hif_selfcal" => self.selfcal(),
            "hif_refant" => {
                let mut ants: Vec<&str> = ANTENNAS[..N_ANT].to_vec();
                ants.rotate_left(self.rng.below(N_ANT as u64) as usize);
                vec![("vis", sv(file)), ("_refant", Value::Str(ants.join(",")))]
            }
            _ => {
                let mut f: Fields = vis.map(|v| ("vis", sv(v))).into_iter().collect();
                f.push(("pool", Value::List(Vec::new())));
                f.push(("final", Value::List(Vec::new())));
                f
            }
        }
    }

    /// A calibration task's tables: `app` in `pool` and `final`, nothing preceding, no error.
    fn applied(app: Value) -> Fields {
        vec![
            ("pool", Value::List(vec![app.clone()])),
            ("final", Value::List(vec![app])),
            ("preceding", Value::List(Vec::new())),
            ("error", Value::Set(Vec::new())),
        ]
    }

    fn flagdata(&mut self, file: &str) -> Fields {
        let summaries = vec![
            self.summary("before", true),
            self.summary("applyonline", true),
            self.summary("template", false),
            self.summary("after", true),
        ];
        let n = scaled(40.0, self.opts.scale, 8) as usize;
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
        vec![
            ("summaries", Value::List(summaries)),
            ("flagcmds", Value::List(cmds)),
            ("vis", sv(file)),
        ]
    }

    /// The bandpass table and its solutions per spectral window (gain, flag, snr, frequency).
    fn bandpass(&mut self, file: &str) -> Fields {
        let table = format!("{file}.hifa_bandpass.s14_5.spw17_19_21_23.channel.solintinf.bcal.tbl");
        let app = self.cal_application(file, &table, "bandpass", "17,19,21,23");
        let mut f = Demo::applied(app);
        f.push(("applies_adopted", Value::Bool(false)));
        f.push(("unregister_existing", Value::Bool(false)));
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
        f.push(("solutions", Value::Dict(sols)));
        f.push(("qa_phaseup_snr", Value::Float(42.7)));
        f
    }

    /// The clean targets of an imaging list: calibrators then the target, continuum or cube.
    fn makeimlist(&mut self, stage: u32) -> Fields {
        let (intent, specmode, base) = match stage {
            22 => ("PHASE,BANDPASS,CHECK", "mfs", 8.0),
            24 => ("PHASE,BANDPASS,CHECK", "cont", 6.0),
            31 => ("TARGET", "mfs", 12.0),
            44 | 46 => ("TARGET", "cube", 16.0),
            _ => ("TARGET", "cont", 6.0),
        };
        let n = scaled(base, self.opts.scale, 2) as usize;
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
        vec![
            ("targets", Value::List(targets)),
            ("clean_list_info", Value::Dict(Vec::new())),
            ("max_num_targets", Value::Int(n as i64)),
            ("mitigation_error", Value::Bool(false)),
            ("synthesized_beams", Value::Dict(Vec::new())),
        ]
    }

    /// One `TcleanResult` per image made.
    fn makeimages(&mut self, stage: u32) -> Fields {
        let n = scaled(4.0, self.opts.scale.sqrt(), 2) as usize;
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
                                    ("image", Value::Str(format!("s{stage}_0.iter0.image"))),
                                    ("residual", Value::Str(format!("s{stage}_0.iter0.residual"))),
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
        vec![
            ("results", Value::List(results)),
            ("targets", Value::List(Vec::new())),
        ]
    }

    /// Self-calibration per field: solution intervals and the SNR before and after.
    fn selfcal(&mut self) -> Fields {
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
        vec![
            ("targets", Value::List(scal)),
            ("is_restore", Value::Bool(false)),
        ]
    }

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
}
