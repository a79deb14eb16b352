//! The `pipeline-demo.context`: the `Context` with its `ResultsProxy`s pointing back at it,
//! the observing run, the calibration library and the project summary.

use super::super::pickler::{ObjId, Rng, Value};
use super::demo::{Demo, stage_seed, stage_uuid, sv};
use super::options::DEMO_OUTPUT_DIR;
use super::tasks::{BASETASK, CALLIB};

impl Demo {
    pub(super) fn context(mut self) -> Value {
        self.rng = Rng::new(stage_seed(self.opts.seed, 0));
        let ctx = ObjId(1);
        let results = (1..=self.run_stages)
            .map(|n| {
                Value::instance(
                    BASETASK,
                    "ResultsProxy",
                    [
                        ("_context", Value::Ref(ctx)),
                        ("uuid", self.uuid(stage_uuid(self.opts.seed, n))),
                        ("_basename", Value::Str(format!("result-stage{n}.pickle"))),
                    ],
                )
            })
            .collect();
        let ms_names = self.ms.clone();
        let mses: Vec<Value> = ms_names.iter().map(|m| self.measurement_set(m)).collect();
        let mut active = Vec::new();
        for m in &ms_names {
            for (table, kind) in [
                (format!("{m}.h_tsyscal.s6_1.tsyscal.tbl"), "tsys"),
                (format!("{m}.hifa_wvrgcalflag.s10_2.wvrcal.tbl"), "wvr"),
                (
                    format!("{m}.hifa_bandpass.s14_5.spw17_19_21_23.channel.solintinf.bcal.tbl"),
                    "bandpass",
                ),
            ] {
                active.push(self.cal_application(m, &table, kind, "17,19,21,23"));
            }
        }
        let attrs: Vec<(&str, Value)> = vec![
            ("name", sv(self.name)),
            ("output_dir", sv(DEMO_OUTPUT_DIR)),
            (
                "products_dir",
                Value::Str(format!("{DEMO_OUTPUT_DIR}/../products")),
            ),
            (
                "report_dir",
                Value::Str(format!("{DEMO_OUTPUT_DIR}/{}/html", self.name)),
            ),
            (
                "logs",
                Value::dict([
                    ("casa_commands", sv("casa_commands.log")),
                    ("pipeline_script", sv("casa_pipescript.py")),
                    ("pipeline_restore_script", sv("casa_piperestorescript.py")),
                ]),
            ),
            ("results", Value::List(results)),
            ("task_counter", Value::Int(i64::from(self.run_stages))),
            ("subtask_counter", Value::Int(0)),
            (
                "observing_run",
                Value::instance(
                    "pipeline.domain.observingrun",
                    "ObservingRun",
                    [
                        ("measurement_sets", Value::List(mses)),
                        ("virtual_science_spw_ids", Value::Dict(Vec::new())),
                        ("virtual_science_spw_names", Value::Dict(Vec::new())),
                        ("ms_reduction_group", Value::Dict(Vec::new())),
                        ("org_directions", Value::Dict(Vec::new())),
                    ],
                ),
            ),
            (
                "callibrary",
                Value::instance(
                    CALLIB,
                    "CalLibrary",
                    [
                        ("_context", Value::Ref(ctx)),
                        ("_active", Value::List(active)),
                        ("_applied", Value::List(Vec::new())),
                    ],
                ),
            ),
            (
                "calimlist",
                Value::instance(
                    "pipeline.infrastructure.imagelibrary",
                    "ImageLibrary",
                    [("_images", Value::List(Vec::new()))],
                ),
            ),
            (
                "sciimlist",
                Value::instance(
                    "pipeline.infrastructure.imagelibrary",
                    "ImageLibrary",
                    [("_images", Value::List(Vec::new()))],
                ),
            ),
            ("clean_list_pending", Value::List(Vec::new())),
            ("clean_list_info", Value::Dict(Vec::new())),
            ("size_mitigation_parameters", Value::Dict(Vec::new())),
            ("imaging_parameters", Value::Dict(Vec::new())),
            (
                "synthesized_beams",
                Value::dict([("robust", Value::Float(0.5))]),
            ),
            ("contfile", sv("cont.dat")),
            ("linesfile", sv("lines.dat")),
            (
                "project_summary",
                Value::instance(
                    "pipeline.infrastructure.project",
                    "ProjectSummary",
                    [
                        ("proposal_code", sv("2023.1.00123.S")),
                        ("piname", sv("undefined")),
                        ("observatory", sv("ALMA Joint Observatory")),
                        ("telescope", sv("ALMA")),
                    ],
                ),
            ),
            (
                "processing_intents",
                Value::dict([
                    ("INTERFEROMETRY", Value::Bool(true)),
                    ("CALIBRATION", Value::Bool(true)),
                    ("IMAGING", Value::Bool(true)),
                ]),
            ),
            ("logtype", sv("MAIN")),
        ];
        Value::Named(
            ctx,
            Box::new(Value::instance(
                "pipeline.infrastructure.launcher",
                "Context",
                attrs,
            )),
        )
    }
}
