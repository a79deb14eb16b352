//! The context's domain objects: measurement sets with their spectral windows, fields,
//! antennas and scans, the measures (`Frequency`, `FileSize`), and calibration applications.

use super::super::pickler::{DType, Fill, NdArray, Value};
use super::demo::{Demo, set_attrs, sv};
use super::options::DEMO_OUTPUT_DIR;
use super::tasks::{ANTENNAS, CALLIB, DOMAIN_MS, FIELDS, MEASURES, N_ANT, SPWS};

impl Demo {
    pub(super) fn frequency(&mut self, ghz: f64) -> Value {
        if self.real() {
            return self.measure("Frequency", format!("{ghz:.9}"), self.ghz.clone());
        }
        Value::instance(
            MEASURES,
            "Frequency",
            [
                (
                    "value",
                    // Decimal.__reduce__ gives a new str each time: a distinct object.
                    Value::reduce(
                        Value::global("decimal", "Decimal"),
                        vec![Value::FreshStr(format!("{ghz:.9}"))],
                    ),
                ),
                ("units", self.ghz.clone()),
            ],
        )
    }

    /// A `CalApplication`: `calto` and `calfrom` are `__slots__` classes with tuple state.
    pub(super) fn cal_application(
        &mut self,
        vis: &str,
        table: &str,
        caltype: &str,
        spw: &str,
    ) -> Value {
        let calto = Value::newobj(
            CALLIB,
            "CalTo",
            Vec::new(),
            Some(Value::Tuple(vec![
                Value::Str(self.ms_path(vis)),
                sv(""),
                sv(spw),
                sv(""),
                sv(""),
            ])),
        );
        let calfrom = if self.real() {
            self.real_calfrom(table, caltype)
        } else {
            Value::newobj(
                CALLIB,
                "CalFrom",
                Vec::new(),
                Some(Value::Tuple(vec![
                    Value::Str(format!("{DEMO_OUTPUT_DIR}/{table}")),
                    sv(""),
                    sv("linear,linearflag"),
                    Value::List(Vec::new()),
                    sv(caltype),
                    Value::Bool(false),
                ])),
            )
        };
        Value::instance(
            CALLIB,
            "CalApplication",
            [
                ("calto", calto),
                ("calfrom", Value::List(vec![calfrom])),
                (
                    "origin",
                    Value::List(vec![Value::newobj(
                        CALLIB,
                        "CalAppOrigin",
                        vec![
                            Value::global(
                                "pipeline.hifa.tasks.bandpass.almaphcorbandpass",
                                "SerialALMAPhcorBandpass",
                            ),
                            Value::dict([("vis", sv(vis)), ("caltable", sv(table))]),
                        ],
                        None,
                    )]),
                ),
            ],
        )
    }

    /// `SpectralWindow`: `__slots__` and a `__getstate__` returning a tuple (BUILD's state):
    /// 16 fields in the classic layout, 25 in the real ones (min and max frequency, effective
    /// bandwidths, baseband, frame, ...).
    pub(super) fn spectral_window(&mut self, spw: i64, nchan: u64) -> Value {
        let real = self.real();
        let f0 = 86.0 + (spw - 17) as f64 * 0.9;
        let width = 0.001_953_125 * 128.0 / nchan as f64;
        let mut t = vec![
            Value::Int(spw),
            Value::Str(format!(
                "X{}#ALMA_RB_03#BB_{}#SW-01#FULL_RES",
                800 + spw,
                1 + (spw - 17) / 2
            )),
            sv("TDM"),
            self.frequency(width * nchan as f64),
            self.frequency(f0),
            self.frequency(f0 + width * nchan as f64 / 2.0),
        ];
        if real {
            t.push(self.frequency(f0));
            t.push(self.frequency(f0 + width * nchan as f64));
        }
        t.extend([
            sv("ALMA Band 3"),
            Value::Int(nchan as i64),
            Value::Set(vec![sv("BANDPASS"), sv("PHASE"), sv("TARGET"), sv("FLUX")]),
            Value::Int(if spw < 20 { 1 } else { -1 }),
            Value::Int(1 + (spw - 17) / 2),
            Value::List(vec![sv("N2H+_v_0_1-0(ID=1734201)")]),
            sv("X1013209920#1"),
        ]);
        let mut chan = |start: f64, step: f64| {
            Value::array(NdArray::synth(
                DType::F8,
                &[nchan],
                self.seed(),
                Fill::Arange { start, step },
            ))
        };
        t.push(chan(f0 * 1e9, width * 1e9));
        t.push(chan(width * 1e9, 0.0));
        if real {
            t.push(chan(width * 1e9 * 1.15, 0.0));
        }
        t.push(Value::List(vec![self.frequency(f0 - 4.0)]));
        if real {
            t.extend([
                sv("BB_1"),
                Value::Int(0),
                Value::Int(0),
                sv("LSRK"),
                Value::Bool(false),
                Value::Float(0.0),
            ]);
        }
        Value::newobj(
            "pipeline.domain.spectralwindow",
            "SpectralWindow",
            Vec::new(),
            Some(Value::Tuple(t)),
        )
    }

    pub(super) fn measurement_set(&mut self, name: &str) -> Value {
        let spws: Vec<Value> = SPWS
            .iter()
            .map(|&s| Value::shared(self.spectral_window(s, 128)))
            .collect();
        let fields: Vec<Value> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, (fname, intents))| {
                Value::shared(Value::instance(
                    "pipeline.domain.field",
                    "Field",
                    [
                        ("id", Value::Int(i as i64)),
                        ("source_id", Value::Int(i as i64)),
                        ("name", sv(fname)),
                        ("_name", sv(fname)),
                        ("intents", Value::Set(intents.split(',').map(sv).collect())),
                        ("states", Value::Set(Vec::new())),
                        ("valid_spws", Value::Set(spws.clone())),
                        ("flux_densities", Value::Set(Vec::new())),
                        (
                            "mdirection",
                            Value::dict([
                                ("refer", sv("ICRS")),
                                ("type", sv("direction")),
                                (
                                    "m0",
                                    Value::dict([
                                        ("unit", sv("rad")),
                                        ("value", Value::Float(3.5 + i as f64 * 0.1)),
                                    ]),
                                ),
                                (
                                    "m1",
                                    Value::dict([
                                        ("unit", sv("rad")),
                                        ("value", Value::Float(-0.75 + i as f64 * 0.2)),
                                    ]),
                                ),
                            ]),
                        ),
                    ],
                ))
            })
            .collect();
        let antennas: Vec<Value> = (0..N_ANT)
            .map(|a| {
                Value::instance(
                    "pipeline.domain.antenna",
                    "Antenna",
                    [
                        ("id", Value::Int(a as i64)),
                        ("name", sv(ANTENNAS[a])),
                        ("station", Value::Str(format!("A0{:02}", 10 + a * 7))),
                        ("diameter", Value::Float(12.0)),
                        (
                            "position",
                            Value::dict([
                                ("x", Value::Float(2_225_061.0 + self.rng.normal(0.0, 300.0))),
                                (
                                    "y",
                                    Value::Float(-5_440_057.0 + self.rng.normal(0.0, 300.0)),
                                ),
                                (
                                    "z",
                                    Value::Float(-2_481_681.0 + self.rng.normal(0.0, 300.0)),
                                ),
                            ]),
                        ),
                    ],
                )
            })
            .collect();
        let scans: Vec<Value> = (0..self.nscan)
            .map(|i| {
                let field = fields[(i % 5).min(2)].clone();
                let t0 = 7_987.0 + i as f64 * 400.0;
                Value::instance(
                    "pipeline.domain.scan",
                    "Scan",
                    [
                        ("id", Value::Int(i as i64 + 1)),
                        ("fields", Value::Set(vec![field])),
                        ("spws", Value::Set(spws.clone())),
                        ("intents", Value::Set(vec![sv(FIELDS[(i % 5).min(2)].1)])),
                        ("start_time", self.datetime(t0)),
                        ("end_time", self.datetime(t0 + 360.0)),
                    ],
                )
            })
            .collect();
        let mut ms = Value::instance(
            DOMAIN_MS,
            "MeasurementSet",
            [
                ("name", Value::Str(self.ms_path(name))),
                ("session", sv("session_1")),
                (
                    "antenna_array",
                    Value::instance(
                        "pipeline.domain.antennaarray",
                        "AntennaArray",
                        [("name", sv("ALMA")), ("antennas", Value::List(antennas))],
                    ),
                ),
                ("spectral_windows", Value::List(spws)),
                ("fields", Value::List(fields)),
                ("scans", Value::List(scans)),
                ("reference_antenna", sv("DA41,DV03,DA45,DV07")),
                ("reference_antenna_locked", Value::Bool(false)),
                ("is_imaging_ms", Value::Bool(false)),
                ("flagcmds", Value::List(Vec::new())),
                ("filesize", Value::Int(9_876_543_210)),
                ("origin_ms", Value::Str(self.ms_path(name))),
            ],
        );
        if self.real() {
            let extras = self.real_ms_extras();
            set_attrs(&mut ms, extras);
        }
        ms
    }
}
