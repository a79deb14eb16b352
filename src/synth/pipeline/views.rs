//! The flagging views: `ImageResult`s with their axes and arrays gathered in a `view`, the
//! nested `children` and `SpectrumResult`s of the real layouts, flag commands and summaries.

use super::super::pickler::{DType, Fill, NdArray, Value};
use super::demo::{Demo, set_attrs, sv};
use super::tasks::{AFB, ANTENNAS, CRO, FIELDS, N_ANT, POLS, SPWS};

impl Demo {
    pub(super) fn axes(&mut self, first: (&str, &str, u64), second: (&str, &str, u64)) -> Value {
        let axis = |name: &str, units: &str, n: u64, this: &mut Demo| {
            let start = if units == "GHz" {
                86.0 + this.rng.f64() * 20.0
            } else {
                0.0
            };
            let step = if units == "GHz" { 0.000_488 } else { 1.0 };
            Value::instance(
                CRO,
                "ResultAxis",
                [
                    ("name", sv(name)),
                    ("units", sv(units)),
                    (
                        "data",
                        Value::array(NdArray::synth(
                            DType::F8,
                            &[n],
                            this.seed(),
                            Fill::Arange { start, step },
                        )),
                    ),
                    ("channel_width", Value::Float(step)),
                ],
            )
        };
        let a = axis(first.0, first.1, first.2, self);
        let b = axis(second.0, second.1, second.2, self);
        Value::shared(Value::List(vec![a, b]))
    }

    /// A measured array and its flags (the same shape): noise around 1, about 2% flagged.
    pub(super) fn measured(&mut self, shape: &[u64]) -> (Value, Value) {
        let data = NdArray::synth(
            DType::F8,
            shape,
            self.seed(),
            Fill::Noise {
                mean: 1.0,
                sigma: 0.05,
            },
        );
        let flag = NdArray::synth(
            DType::Bool,
            shape,
            self.seed(),
            Fill::Sparse { density: 0.02 },
        );
        (Value::array(data), Value::array(flag))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn image_result(
        &mut self,
        filename: &str,
        datatype: &str,
        shape: [u64; 2],
        axes: &Value,
        intent: &str,
        field: Option<(i64, &str)>,
        spw: i64,
        pol: Option<&str>,
        units: &str,
        time: Option<f64>,
    ) -> Value {
        let (data, flag) = self.measured(&shape);
        let nodata = NdArray::synth(
            DType::Bool,
            &shape,
            self.seed(),
            Fill::Sparse { density: 0.005 },
        );
        let frp = NdArray::synth(
            DType::I8,
            &shape,
            self.seed(),
            Fill::Sparse { density: 0.01 },
        );
        Value::instance(
            CRO,
            "ImageResult",
            [
                ("filename", sv(filename)),
                ("data", data),
                ("axes", axes.clone()),
                ("flag", flag),
                ("nodata", Value::array(nodata)),
                ("datatype", sv(datatype)),
                ("field_id", field.map_or(Value::None, |f| Value::Int(f.0))),
                ("_field_name", field.map_or(Value::None, |f| sv(f.1))),
                ("intent", sv(intent)),
                ("spw", Value::Int(spw)),
                ("pol", pol.map_or(Value::None, sv)),
                ("ant", Value::None),
                ("units", sv(units)),
                ("time", time.map_or(Value::None, Value::Float)),
                ("children", Value::Dict(Vec::new())),
                ("flag_reason_plane", Value::array(frp)),
                (
                    "flag_reason_key",
                    Value::Dict(vec![
                        (Value::Int(1), sv("bad quadrant")),
                        (Value::Int(2), sv("bad antenna")),
                    ]),
                ),
            ],
        )
    }

    pub(super) fn description(
        file: &str,
        intent: &str,
        field: Option<&str>,
        spw: i64,
        pol: Option<&str>,
    ) -> String {
        let mut s = format!("File:{file} Intent:{intent}");
        if let Some(f) = field {
            s.push_str(&format!(" Field:{f}"));
        }
        s.push_str(&format!(" SpW:{spw}"));
        if let Some(p) = pol {
            s.push_str(&format!(" Pol:{p}"));
        }
        s
    }

    pub(super) fn flagcmds(&mut self, filename: &str, rulename: &str, n: usize) -> Value {
        let cmds = (0..n)
            .map(|i| {
                let spw = SPWS[i % SPWS.len()];
                let ant = ANTENNAS[self.rng.below(N_ANT as u64) as usize];
                let chan = self.rng.below(self.nchan.max(1));
                let pol = POLS[i % 2];
                Value::instance(
                    AFB,
                    "FlagCmd",
                    [
                        ("filename", sv(filename)),
                        ("rulename", sv(rulename)),
                        ("ruleaxis", sv("Antenna2")),
                        ("spw", Value::Int(spw)),
                        ("antenna", sv(ant)),
                        ("intent", sv("*BANDPASS*")),
                        ("pol", sv(pol)),
                        ("axisnames", Value::List(vec![sv("channels"), sv("Baseline")])),
                        (
                            "flagcoords",
                            Value::List(vec![
                                Value::Int(chan as i64),
                                Value::Str(format!("{ant}&*")),
                            ]),
                        ),
                        ("channel_axis", Value::None),
                        ("reason", sv(rulename)),
                        ("extendfields", Value::None),
                        (
                            "flagcmd",
                            Value::Str(format!(
                                "mode='manual' spw='{spw}:{chan}' antenna='{ant}' correlation='{pol}' intent='*BANDPASS*' reason='{rulename}'"
                            )),
                        ),
                    ],
                )
            })
            .collect();
        Value::List(cmds)
    }

    /// A `view`: `description -> [ImageResult, ...]`, one key per (spw, pol or none).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn view(
        &mut self,
        file: &str,
        datatype: &str,
        intent: &str,
        pols: &[Option<&str>],
        shape: [u64; 2],
        axis_names: ((&str, &str), (&str, &str)),
        copies: usize,
        field: Option<(i64, &str)>,
    ) -> Value {
        let mut items = Vec::new();
        for spw in SPWS {
            let axes = self.axes(
                (axis_names.0.0, axis_names.0.1, shape[0]),
                (axis_names.1.0, axis_names.1.1, shape[1]),
            );
            for &pol in pols {
                let desc = Demo::description(file, intent, field.map(|f| f.1), spw, pol);
                let list = (0..copies)
                    .map(|copy| {
                        let mut image = self.image_result(
                            file, datatype, shape, &axes, intent, field, spw, pol, "", None,
                        );
                        // The last iteration's view carries the refined views as children.
                        if self.real() && copy + 1 == copies {
                            let children = self.children(file, shape, &axes, intent, spw, pol);
                            set_attrs(&mut image, vec![("children", children)]);
                        }
                        image
                    })
                    .collect();
                items.push((Value::Str(desc), Value::List(list)));
            }
        }
        Demo::defaultdict(items)
    }

    /// A flagging result's `summaries`: before and after, without per-channel detail.
    pub(super) fn summaries(&mut self) -> Value {
        Value::List(vec![
            self.summary("before", false),
            self.summary("after", false),
        ])
    }

    pub(super) fn summary(&mut self, name: &str, detail: bool) -> Value {
        let leaf = |this: &mut Demo, total: f64| {
            let frac = this.rng.f64() * 0.2;
            Value::dict([
                ("flagged", Value::Float((total * frac).round())),
                ("total", Value::Float(total)),
            ])
        };
        let per = 1_000.0 * self.nchan as f64;
        let mut items: Vec<(String, Value)> =
            vec![("name".into(), sv(name)), ("type".into(), sv("summary"))];
        let ants = (0..N_ANT)
            .map(|a| (ANTENNAS[a].to_string(), leaf(self, per * 7.0)))
            .collect::<Vec<_>>();
        items.push(("antenna".into(), Value::dict(ants)));
        items.push((
            "array".into(),
            Value::dict([("ALMA", leaf(self, per * 28.0))]),
        ));
        let corr = POLS
            .iter()
            .map(|p| (p.to_string(), leaf(self, per * 14.0)))
            .collect::<Vec<_>>();
        items.push(("correlation".into(), Value::dict(corr)));
        let fields = FIELDS
            .iter()
            .map(|f| (f.0.to_string(), leaf(self, per * 9.0)))
            .collect::<Vec<_>>();
        items.push(("field".into(), Value::dict(fields)));
        let intents = [
            "CALIBRATE_BANDPASS#ON_SOURCE",
            "CALIBRATE_PHASE#ON_SOURCE",
            "OBSERVE_TARGET#ON_SOURCE",
            "CALIBRATE_ATMOSPHERE#OFF_SOURCE",
        ]
        .iter()
        .map(|i| (i.to_string(), leaf(self, per * 7.0)))
        .collect::<Vec<_>>();
        items.push(("intent".into(), Value::dict(intents)));
        items.push((
            "observation".into(),
            Value::dict([("0", leaf(self, per * 28.0))]),
        ));
        let scans = (1..=self.nscan)
            .map(|s| (s.to_string(), leaf(self, per * 2.0)))
            .collect::<Vec<_>>();
        items.push(("scan".into(), Value::dict(scans)));
        let spws = SPWS
            .iter()
            .map(|s| (s.to_string(), leaf(self, per * 7.0)))
            .collect::<Vec<_>>();
        items.push(("spw".into(), Value::dict(spws)));
        if detail {
            let mut chans = Vec::new();
            for s in SPWS {
                for c in 0..self.nchan {
                    chans.push((format!("{s}:{c}"), leaf(self, 1_000.0)));
                }
            }
            items.push(("spw:channel".into(), Value::dict(chans)));
        }
        items.push(("flagged".into(), Value::Float((per * 28.0 * 0.07).round())));
        items.push(("total".into(), Value::Float(per * 28.0)));
        Value::dict(items)
    }
}
