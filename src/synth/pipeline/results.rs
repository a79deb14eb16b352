//! A stage's results: the `ResultsList` pickled per stage, each `Results` item with the
//! pipeline's attribute order, its QA scores and pool, log records and inputs.

use super::super::pickler::{Rng, Value};
use super::demo::{Demo, stage_seed, stage_uuid, sv};
use super::options::DEMO_OUTPUT_DIR;
use super::tasks::{BASETASK, DAY_EPOCH, N_ANT, PQA, SPWS, STAGES, classes, session_level};

/// A result's attributes in their order (the keys are the pipeline's attribute names).
pub(super) type Fields = Vec<(&'static str, Value)>;

impl Demo {
    pub(super) fn target_selection(
        &self,
        vis: Option<&str>,
        spw: Option<i64>,
        intent: Option<&str>,
    ) -> Value {
        let set = |o: Option<Value>| Value::Set(o.into_iter().collect());
        Value::instance(
            PQA,
            "TargetDataSelection",
            [
                ("session", set(None)),
                ("vis", set(vis.map(sv))),
                ("scan", set(None)),
                ("spw", set(spw.map(|s| sv(&s.to_string())))),
                ("field", set(None)),
                ("intent", set(intent.map(sv))),
                ("ant", set(None)),
                ("pol", set(None)),
            ],
        )
    }

    pub(super) fn qa_score(&mut self, task: &str, vis: Option<&str>, spw: Option<i64>) -> Value {
        let score = (0.6 + self.rng.f64() * 0.4).min(1.0);
        let (long, short, metric) = if score > 0.9 {
            (
                format!("No extra data flagged by {task}"),
                "No extra flags".to_string(),
                "%HighFlagged",
            )
        } else {
            (
                format!(
                    "{:.1}% of the data newly flagged in {}",
                    (1.0 - score) * 30.0,
                    vis.unwrap_or("all measurement sets")
                ),
                "Data flagged".to_string(),
                "%DataFlagged",
            )
        };
        let loc = self.weblog[usize::from(score > 0.9)].clone();
        Value::instance(
            PQA,
            "QAScore",
            [
                ("score", Value::Float(score)),
                ("longmsg", Value::Str(long)),
                ("shortmsg", Value::Str(short)),
                ("applies_to", self.target_selection(vis, spw, None)),
                (
                    "origin",
                    Value::newobj(
                        PQA,
                        "QAOrigin",
                        vec![sv(metric), Value::Float((1.0 - score) * 12.5), sv("%")],
                        None,
                    ),
                ),
                ("weblog_location", loc),
                ("hierarchy", sv("")),
            ],
        )
    }

    pub(super) fn qa_pool(&self, scores: Vec<Value>, representative: Option<Value>) -> Value {
        Value::instance(
            PQA,
            "QAScorePool",
            [
                ("pool", Value::List(scores)),
                ("_representative", representative.unwrap_or(Value::None)),
            ],
        )
    }

    pub(super) fn logrecords(&mut self, task: &str, t: f64, n: usize) -> Value {
        let module = task.split('_').nth(1).unwrap_or(task).to_string();
        let recs = (0..n)
            .map(|i| {
                let created = DAY_EPOCH + t + i as f64 * 3.25 + self.rng.f64();
                let (level, name) = if i % 2 == 0 {
                    (30, "WARNING")
                } else {
                    (40, "ERROR")
                };
                let msg = format!(
                    "{}: {} of {} antennas have elevated flagging in spw {}",
                    task,
                    1 + self.rng.below(3),
                    N_ANT,
                    SPWS[i % SPWS.len()]
                );
                Value::instance(
                    "logging",
                    "LogRecord",
                    [
                        ("name", Value::Str(format!("pipeline.{module}"))),
                        ("msg", Value::Str(msg)),
                        ("args", Value::Tuple(Vec::new())),
                        ("levelname", sv(name)),
                        ("levelno", Value::Int(level)),
                        (
                            "pathname",
                            Value::Str(format!(
                                "/opt/casa/lib/py/lib/python3.8/site-packages/pipeline/{module}.py"
                            )),
                        ),
                        ("filename", Value::Str(format!("{module}.py"))),
                        ("module", Value::Str(module.clone())),
                        ("exc_info", Value::None),
                        ("exc_text", Value::None),
                        ("stack_info", Value::None),
                        ("lineno", Value::Int(100 + self.rng.below(900) as i64)),
                        ("funcName", sv("prepare")),
                        ("created", Value::Float(created)),
                        ("msecs", Value::Float(((created.fract()) * 1000.0).floor())),
                        ("relativeCreated", Value::Float(t * 1000.0)),
                        ("thread", Value::Int(139_868_724_943_744)),
                        ("threadName", sv("MainThread")),
                        ("processName", sv("MainProcess")),
                        ("process", Value::Int(81_942)),
                    ],
                )
            })
            .collect();
        Value::List(recs)
    }

    pub(super) fn casa_task(&self, task: &str, vis: &[String]) -> String {
        let list = vis
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{task}(vis=[{list}])")
    }

    pub(super) fn inputs(&self, task: &str, vis: &[String]) -> Value {
        let mut items: Vec<(&str, Value)> = vec![
            ("vis", Value::List(vis.iter().map(|v| sv(v)).collect())),
            ("output_dir", sv(DEMO_OUTPUT_DIR)),
        ];
        match task {
            "hif_rawflagchans" => items.extend([
                ("spw", sv("")),
                ("intent", sv("*BANDPASS*")),
                ("flag_hilo", Value::Bool(true)),
                ("fhl_limit", Value::Float(20.0)),
                ("fhl_minsample", Value::Int(5)),
                ("flag_bad_quadrant", Value::Bool(true)),
                ("fbq_hilo_limit", Value::Float(8.0)),
                ("fbq_antenna_limit", Value::Float(0.2)),
                ("fbq_baseline_limit", Value::Float(1.0)),
                ("niter", Value::Int(2)),
            ]),
            "hifa_tsysflag" => items.extend([
                ("flag_nmedian", Value::Bool(true)),
                ("fnm_limit", Value::Float(2.0)),
                ("fnm_byfield", Value::Bool(true)),
                ("flag_derivative", Value::Bool(true)),
                ("fd_max_limit", Value::Float(5.0)),
                ("flag_edgechans", Value::Bool(true)),
                ("fe_edge_limit", Value::Float(3.0)),
                ("flag_fieldshape", Value::Bool(true)),
                ("ff_refintent", sv("BANDPASS")),
                ("ff_max_limit", Value::Float(13.0)),
                ("flag_birdies", Value::Bool(true)),
                ("fb_sharps_limit", Value::Float(0.05)),
                ("flag_toomany", Value::Bool(true)),
                ("tmf1_limit", Value::Float(0.666)),
                ("tmef1_limit", Value::Float(0.666)),
                (
                    "metric_order",
                    sv("nmedian, derivative, edgechans, fieldshape, birdies, toomany"),
                ),
                ("normalize_tsys", Value::Bool(false)),
            ]),
            "hifa_bandpass" => items.extend([
                ("field", sv("J1427-4206")),
                ("intent", sv("BANDPASS")),
                ("spw", sv("17,19,21,23")),
                ("solint", sv("inf")),
                ("combine", sv("scan")),
                ("minblperant", Value::Int(4)),
                ("minsnr", Value::Float(3.0)),
                ("phaseupsolint", sv("int")),
                ("hm_phaseup", sv("snr")),
                ("hm_bandpass", sv("snr")),
            ]),
            _ => items.extend([("spw", sv("")), ("intent", sv("")), ("field", sv(""))]),
        }
        Value::dict(items)
    }

    /// A `Results` object as the pipeline starts one: a fresh `_uuid`, an empty QA pool, no
    /// metadata, then `fields(self)` (built after the uuid, in order).
    pub(super) fn results_object(
        &mut self,
        module: &str,
        class: &str,
        fields: impl FnOnce(&mut Demo) -> Fields,
    ) -> Value {
        let mut attrs: Fields = vec![
            ("_uuid", self.random_uuid()),
            ("qa", self.qa_pool(Vec::new(), None)),
            ("_metadata", Value::Dict(Vec::new())),
        ];
        attrs.extend(fields(self));
        Value::instance(module, class, attrs)
    }

    /// A `Results` subclass with the documented attribute order.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn results(
        &mut self,
        class: (&str, &str),
        taskclass: (&str, &str),
        task: &str,
        stage: u32,
        vis: &[String],
        qa: Value,
        specific: Fields,
        times: (f64, f64),
        nlog: usize,
    ) -> Value {
        let mut attrs: Fields = vec![
            ("_uuid", self.random_uuid()),
            ("qa", qa),
            ("_metadata", Value::Dict(Vec::new())),
        ];
        attrs.extend(specific);
        attrs.push(("task", Value::global(taskclass.0, taskclass.1)));
        attrs.push(("logrecords", self.logrecords(task, times.0, nlog)));
        attrs.push(("inputs", self.inputs(task, vis)));
        attrs.push(("stage_number", Value::Int(i64::from(stage))));
        attrs.push(("pipeline_casa_task", Value::Str(self.casa_task(task, vis))));
        attrs.push(("timestamps", self.timestamps(times)));
        Value::instance(class.0, class.1, attrs)
    }

    pub(super) fn stage(mut self, stage: u32) -> Value {
        self.rng = Rng::new(stage_seed(self.opts.seed, stage));
        let task = STAGES[(stage - 1) as usize];
        let (class, taskclass) = classes(task);
        let times = self.stage_times(stage);
        let ms = self.ms.clone();
        let per_vis: Vec<Option<String>> = if session_level(task) {
            vec![None]
        } else {
            ms.iter().map(|m| Some(m.clone())).collect()
        };
        let mut all_scores = Vec::new();
        let mut items = Vec::new();
        for (i, vis) in per_vis.iter().enumerate() {
            let scores: Vec<Value> = (0..1 + (stage as usize + i) % 2)
                .map(|k| {
                    let spw = if k == 0 {
                        None
                    } else {
                        Some(SPWS[k % SPWS.len()])
                    };
                    Value::shared(self.qa_score(task, vis.as_deref(), spw))
                })
                .collect();
            all_scores.extend(scores.iter().cloned());
            let representative = if stage.is_multiple_of(3) {
                scores.first().cloned()
            } else {
                None
            };
            let qa = self.qa_pool(scores, representative);
            let specific = self.specific(task, stage, vis.as_deref());
            let its_vis = match vis {
                Some(v) => vec![v.clone()],
                None => ms.clone(),
            };
            let nlog = if matches!(task, "hifa_tsysflag" | "hif_rawflagchans") {
                2
            } else {
                0
            };
            items.push(self.results(
                class, taskclass, task, stage, &its_vis, qa, specific, times, nlog,
            ));
        }
        // The list's pool holds the same QAScore objects as its items (memo references).
        let qa = self.qa_pool(all_scores, None);
        let attrs: Fields = vec![
            ("_uuid", self.uuid(stage_uuid(self.opts.seed, stage))),
            ("qa", qa),
            ("_metadata", Value::Dict(Vec::new())),
            ("_ResultsList__results", Value::List(items)),
            ("task", Value::global(taskclass.0, taskclass.1)),
            ("logrecords", self.logrecords(task, times.0, 1)),
            ("inputs", self.inputs(task, &ms)),
            ("stage_number", Value::Int(i64::from(stage))),
            ("pipeline_casa_task", Value::Str(self.casa_task(task, &ms))),
            ("timestamps", self.timestamps(times)),
        ];
        Value::instance(BASETASK, "ResultsList", attrs)
    }
}
