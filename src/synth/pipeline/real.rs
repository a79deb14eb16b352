//! What only the demo's "real" layouts write, beyond the classic demo.
//!
//! `CorrectedampflagResults` (flag commands, no view) in the bandpassflag and gfluxscaleflag
//! stages; the view-result classes (`FlaggableViewResults` subclasses with their own `view`);
//! nested views (`ImageResult.children` holding further `ImageResult`s and `SpectrumResult`s);
//! `__slots__` domain pieces: `CalFrom` with mangled slots and `__getnewargs__`, `StateALMA`,
//! the measures classes with tuple state, and `operator.attrgetter('id')` stored in a
//! `MeasurementSet`'s `RetrieveByIndexContainer`. The shared builders ask `Demo::real` where
//! the layouts part (`flagging.rs`, `views.rs`, `domain.rs`).

use super::super::pickler::Value;
use super::demo::{Demo, scaled, set_attrs, sv};
use super::options::DEMO_OUTPUT_DIR;
use super::results::Fields;
use super::tasks::{CALLIB, CORRECTEDAMPFLAG, CRO, MEASURES, SPWS};

impl Demo {
    /// bandpassflag and gfluxscaleflag as the current source writes them: a
    /// `CorrectedampflagResults` with flag commands and no view.
    pub(super) fn correctedampflag(&mut self, task: &str, stage: u32, file: &str) -> Fields {
        let table = format!("{file}.{task}.s{stage}_3.gpcal.tbl");
        let n = scaled(40.0, self.opts.scale.sqrt(), 6) as usize;
        let caf = self.results_object(CORRECTEDAMPFLAG, "CorrectedampflagResults", |d| {
            vec![
                ("vis", sv(file)),
                ("flagging", d.flagcmds(&table, "outlier", n)),
                ("summaries", d.summaries()),
                ("updated_refants", Value::List(Vec::new())),
            ]
        });
        vec![
            ("vis", sv(file)),
            ("cafresult", caf),
            ("plots", Value::Dict(Vec::new())),
        ]
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

    pub(super) fn spectrum(
        &mut self,
        file: &str,
        n: u64,
        spw: i64,
        pol: Option<&str>,
        ant: usize,
    ) -> Value {
        let (data, flag) = self.measured(&[n]);
        Value::instance(
            CRO,
            "SpectrumResult",
            [
                ("filename", sv(file)),
                ("data", data),
                ("flag", flag),
                ("datatype", sv("Median Tsys")),
                ("spw", Value::Int(spw)),
                ("pol", pol.map_or(Value::None, sv)),
                ("ant", Value::Int(ant as i64)),
                ("units", sv("K")),
            ],
        )
    }

    /// One of the view-result classes: a `FlaggableViewResults` with its own `view`.
    pub(super) fn view_results(
        &mut self,
        module: &str,
        class: &str,
        file: &str,
        view: Value,
    ) -> Value {
        self.results_object(module, class, |_| {
            vec![
                ("flagging", Value::List(Vec::new())),
                ("view", view),
                ("vis", sv(file)),
            ]
        })
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
