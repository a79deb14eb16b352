//! The generator's state (`Demo`: options, run name, sizes, the seeded random stream, shared
//! singletons) and the small values every part builds: uuids, datetimes, timestamps, dicts.

use super::super::pickler::{Call, Object, Rng, Value};
use super::options::{DEMO_NAME, DEMO_OUTPUT_DIR, DemoOptions, Layouts, OLDER_NAME, OLDER_STAGES};
use super::tasks::{BASETASK, MEASURES, PQA, STAGES};

/// The generator: options, sizes, the seeded random stream and the values shared across a run.
#[derive(Clone)]
pub(super) struct Demo {
    pub(super) opts: DemoOptions,
    /// The run's name (the context's `name`).
    pub(super) name: &'static str,
    /// How many stages the run got through (its `ResultsProxy`s).
    pub(super) run_stages: u32,
    pub(super) rng: Rng,
    pub(super) nchan: u64,
    pub(super) ntime: u64,
    pub(super) nscan: usize,
    pub(super) ms: Vec<String>,
    pub(super) utc: Value,
    pub(super) weblog: [Value; 4],
    /// The enum member `FrequencyUnits.GIGAHERTZ` (a singleton).
    pub(super) ghz: Value,
}

pub(super) fn sv(s: &str) -> Value {
    Value::Str(s.to_string())
}

pub(super) fn stage_seed(seed: u64, stage: u32) -> u64 {
    seed ^ u64::from(stage).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub(super) fn scaled(base: f64, scale: f64, min: u64) -> u64 {
    ((base * scale).round() as u64).max(min)
}

/// The uuid (as a 128-bit int, version 4) of stage `stage`'s `ResultsList` (0: the context).
pub(super) fn stage_uuid(seed: u64, stage: u32) -> u128 {
    let mut r = Rng::new(stage_seed(seed, stage) ^ 0x5555_AAAA);
    let hi = u128::from(r.next_u64());
    let lo = u128::from(r.next_u64());
    let x = (hi << 64) | lo;
    // version 4, RFC 4122 variant
    (x & !(0xF000u128 << 64) & !(0xC000u128 << 48)) | (0x4000u128 << 64) | (0x8000u128 << 48)
}

impl Demo {
    pub(super) fn new(opts: &DemoOptions) -> Demo {
        let s = opts.scale;
        let mut names = Rng::new(opts.seed ^ 0x00C0_FFEE);
        let ms = (0..opts.ms)
            .map(|_| {
                format!(
                    "uid___A002_X{:x}_X{:x}.ms",
                    0x00a0_0000 + names.below(0x5f_ffff),
                    0x100 + names.below(0xef00)
                )
            })
            .collect();
        let utc = Value::shared(Value::reduce(
            Value::global("datetime", "timezone"),
            vec![Value::reduce(
                Value::global("datetime", "timedelta"),
                vec![Value::Int(0), Value::Int(0), Value::Int(0)],
            )],
        ));
        let weblog = [1, 2, 3, 4].map(|v| {
            Value::shared(Value::reduce(
                Value::global(PQA, "WebLogLocation"),
                vec![Value::Int(v)],
            ))
        });
        let ghz = Value::shared(Value::reduce(
            Value::global(MEASURES, "FrequencyUnits"),
            vec![Value::Int(4)],
        ));
        Demo {
            ghz,
            opts: *opts,
            name: DEMO_NAME,
            run_stages: STAGES.len() as u32,
            rng: Rng::new(opts.seed),
            nchan: scaled(90.0, s, 4),
            ntime: scaled(60.0, s, 4),
            nscan: scaled(16.0, s.sqrt(), 4) as usize,
            ms,
            utc,
            weblog,
        }
    }

    /// The older run of [`Layouts::Real`]: its own seed, 12 stages.
    pub(super) fn older(opts: &DemoOptions) -> Demo {
        let opts = DemoOptions {
            seed: opts.seed ^ 0x01D_E12,
            ..*opts
        };
        Demo {
            name: OLDER_NAME,
            run_stages: OLDER_STAGES,
            ..Demo::new(&opts)
        }
    }

    pub(super) fn real(&self) -> bool {
        self.opts.layouts == Layouts::Real
    }

    pub(super) fn seed(&mut self) -> u64 {
        self.rng.next_u64()
    }

    pub(super) fn ms_path(&self, ms: &str) -> String {
        format!("{DEMO_OUTPUT_DIR}/{ms}")
    }

    pub(super) fn uuid(&mut self, int: u128) -> Value {
        Value::instance("uuid", "UUID", [("int", Value::long_u128(int))])
    }

    pub(super) fn random_uuid(&mut self) -> Value {
        let x = (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64());
        let x = (x & !(0xF000u128 << 64) & !(0xC000u128 << 48))
            | (0x4000u128 << 64)
            | (0x8000u128 << 48);
        self.uuid(x)
    }

    pub(super) fn datetime(&self, secs: f64) -> Value {
        // 2024-05-01 + secs (kept within the day)
        let secs = secs.clamp(0.0, 86_399.0);
        let whole = secs.floor() as u64;
        let us = ((secs - whole as f64) * 1e6) as u32;
        let (h, m, s) = (whole / 3600, (whole / 60) % 60, whole % 60);
        let year: u16 = 2024;
        let b = vec![
            (year >> 8) as u8,
            (year & 0xff) as u8,
            5,
            1,
            h as u8,
            m as u8,
            s as u8,
            (us >> 16) as u8,
            (us >> 8) as u8,
            us as u8,
        ];
        Value::reduce(
            Value::global("datetime", "datetime"),
            vec![Value::Bytes(b), self.utc.clone()],
        )
    }

    pub(super) fn stage_times(&mut self, stage: u32) -> (f64, f64) {
        let start = 7_987.0 + f64::from(stage) * 1_500.0 + self.rng.f64() * 300.0;
        (start, start + 20.0 + self.rng.f64() * 900.0)
    }

    pub(super) fn timestamps(&mut self, t: (f64, f64)) -> Value {
        Value::newobj(
            BASETASK,
            "Timestamps",
            vec![self.datetime(t.0), self.datetime(t.1)],
            None,
        )
    }

    pub(super) fn defaultdict(items: Vec<(Value, Value)>) -> Value {
        Value::Object(Box::new(Object {
            call: Call::Reduce,
            callable: Value::global("collections", "defaultdict"),
            args: vec![Value::global("builtins", "list")],
            list_items: Vec::new(),
            dict_items: items,
            state: None,
        }))
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
