//! A generator of a realistic ALMA pipeline run on disk: `<name>.context` + 48 stage pickles.
//!
//! The shapes follow what the pipeline writes: `ResultsList` items with the pipeline's
//! attribute order, flaggable-view results whose `view` holds `ImageResult`s with numpy arrays
//! (stage 4 and 7 carry most of the bytes), a context whose `ResultsProxy`s point back at it,
//! `__slots__` domain classes with tuple state, `defaultdict`/`OrderedDict`, `uuid.UUID`,
//! tz-aware datetimes and `logging.LogRecord`s. Output is deterministic for a seed; array data
//! is generated while writing, so `scale = 200` (about 1 GB) streams to disk.

use std::fs;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

mod real;

use super::pickler::{
    Call, DType, EncodeOptions, Fill, NdArray, NumpyFlavor, ObjId, Object, Rng, Value, write_pickle,
};

/// The run name: files are `<name>.context` and `<name>/saved_state/result-stage<N>.pickle`.
pub const DEMO_NAME: &str = "pipeline-demo";
/// The `output_dir` recorded in the context (a path on the machine that ran the pipeline).
pub const DEMO_OUTPUT_DIR: &str = "/lustre/naasc/someone/pipeline-demo-run";

/// `procedure_hifa_calimage`, stage 1 to 48.
pub const STAGES: [&str; 48] = [
    "hifa_importdata",
    "hifa_flagdata",
    "hifa_fluxcalflag",
    "hif_rawflagchans",
    "hif_refant",
    "h_tsyscal",
    "hifa_tsysflag",
    "hifa_tsysflagcontamination",
    "hifa_antpos",
    "hifa_wvrgcalflag",
    "hif_lowgainflag",
    "hif_setmodels",
    "hifa_bandpassflag",
    "hifa_bandpass",
    "hifa_spwphaseup",
    "hifa_gfluxscaleflag",
    "hifa_gfluxscale",
    "hifa_timegaincal",
    "hifa_renorm",
    "hifa_targetflag",
    "hif_applycal",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hifa_imageprecheck",
    "hif_checkproductsize",
    "hifa_exportdata",
    "hif_mstransform",
    "hifa_flagtargets",
    "hif_makeimlist",
    "hif_findcont",
    "hif_uvcontsub",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_selfcal",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hif_makeimlist",
    "hif_makeimages",
    "hifa_exportdata",
];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoOptions {
    /// Multiplies array extents and list lengths: 1.0 gives about 4.5 MB in all (most of it
    /// in the flagging views of stages 4 and 7), 200 about 1 GB.
    pub scale: f64,
    /// Number of measurement sets (execution blocks); per-MS stages hold one result per MS.
    pub ms: u32,
    /// Seed of the deterministic generator: the same options give the same bytes.
    pub seed: u64,
    /// Which layouts the files follow.
    pub layouts: Layouts,
}

/// The object layouts of a demo run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Layouts {
    /// One view level per flagging result, dict-state measures: the classic demo.
    #[default]
    Classic,
    /// What a current pipeline release writes: views nested in `ImageResult.children`, the 9
    /// `FlaggableViewResults` subclasses, `CorrectedampflagResults` without a view, 25-field
    /// `SpectralWindow` tuples, `CalFrom` with mangled slots and `__getnewargs__`, slots-tuple
    /// measures and `StateALMA`, `operator.attrgetter('id')` inside each `MeasurementSet`; and
    /// an older, shorter run (`pipeline-older.context`, 12 stages, a day older) in the same
    /// directory.
    Real,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            scale: 1.0,
            ms: 2,
            seed: 20_240_501,
            layouts: Layouts::Classic,
        }
    }
}

/// One file written by [`write_demo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    pub path: PathBuf,
    /// `None` for the context.
    pub stage: Option<u32>,
    /// The pipeline task (`"context"` for the context).
    pub task: &'static str,
    pub bytes: u64,
}

/// What [`write_demo`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// The directory holding the context.
    pub dir: PathBuf,
    pub context: PathBuf,
    /// The stage pickles in stage order, then the context.
    pub files: Vec<DemoFile>,
    /// With [`Layouts::Real`]: the older run's stage pickles, then its context (written first,
    /// modification times a day before the newer run's).
    pub older: Vec<DemoFile>,
    /// The bytes of `files` and `older`.
    pub total_bytes: u64,
}

/// The older run written beside the demo with [`Layouts::Real`].
pub const OLDER_NAME: &str = "pipeline-older";
/// How many stages the older run got through.
pub const OLDER_STAGES: u32 = 12;

/// Writes `dir/pipeline-demo.context` and `dir/pipeline-demo/saved_state/result-stage<N>.pickle`
/// for the 48 stages (protocol 5, numpy 1.x paths). Each file is written to a temporary file in
/// the same directory and renamed over the target, so an existing file (or a symlink at that
/// path) is replaced, never written through. Refuses a symlinked `pipeline-demo` or
/// `saved_state` directory.
pub fn write_demo(dir: &Path, opts: &DemoOptions) -> io::Result<DemoSummary> {
    check_options(opts)?;
    fs::create_dir_all(dir)?;
    let older = if opts.layouts == Layouts::Real {
        let run = Demo::older(opts);
        let files = write_run(dir, &run, OLDER_NAME)?;
        // A day before the newer run: `h_resume('last')` picks the newer by mtime.
        let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
        for f in &files {
            fs::File::options()
                .write(true)
                .open(&f.path)?
                .set_modified(day_ago)?;
        }
        files
    } else {
        Vec::new()
    };
    let mut files = write_run(dir, &Demo::new(opts), DEMO_NAME)?;
    let context = files
        .last()
        .map(|f| f.path.clone())
        .unwrap_or_else(|| dir.join(format!("{DEMO_NAME}.context")));
    let total_bytes = files.iter().chain(&older).map(|f| f.bytes).sum();
    files.shrink_to_fit();
    Ok(DemoSummary {
        dir: dir.to_path_buf(),
        context,
        files,
        older,
        total_bytes,
    })
}

/// Writes one run (`name.context` and `name/saved_state/`) of `run`'s stages; returns the
/// stage pickles, then the context.
fn write_run(dir: &Path, run: &Demo, name: &str) -> io::Result<Vec<DemoFile>> {
    let run_dir = dir.join(name);
    let saved = run_dir.join("saved_state");
    for d in [&run_dir, &saved] {
        match fs::symlink_metadata(d) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{}: is a symlink; not writing through it", d.display()),
                ));
            }
            Ok(m) if !m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{}: exists and is not a directory", d.display()),
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(d)?,
            Err(e) => return Err(e),
        }
    }
    let enc = EncodeOptions {
        protocol: 5,
        numpy: NumpyFlavor::Numpy1,
    };
    let mut files = Vec::with_capacity(STAGES.len() + 1);
    for (i, task) in STAGES.iter().take(run.run_stages as usize).enumerate() {
        let stage = i as u32 + 1;
        let value = run.clone().stage(stage);
        let path = saved.join(format!("result-stage{stage}.pickle"));
        let bytes = write_atomic(&path, &value, &enc)?;
        files.push(DemoFile {
            path,
            stage: Some(stage),
            task,
            bytes,
        });
    }
    let context = dir.join(format!("{name}.context"));
    let bytes = write_atomic(&context, &run.clone().context(), &enc)?;
    files.push(DemoFile {
        path: context,
        stage: None,
        task: "context",
        bytes,
    });
    Ok(files)
}

/// The `ResultsList` pickled as `result-stage<stage>.pickle` (stage 1–48), for tests.
pub fn stage_result(stage: u32, opts: &DemoOptions) -> Option<Value> {
    if stage == 0 || stage as usize > STAGES.len() || check_options(opts).is_err() {
        return None;
    }
    Some(Demo::new(opts).stage(stage))
}

/// The `pipeline.infrastructure.launcher.Context` pickled as `pipeline-demo.context`.
pub fn context_value(opts: &DemoOptions) -> Value {
    Demo::new(opts).context()
}

fn check_options(opts: &DemoOptions) -> io::Result<()> {
    if !(opts.scale.is_finite() && opts.scale > 0.0 && opts.scale <= 100_000.0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "scale must be a positive number up to 100000",
        ));
    }
    if opts.ms == 0 || opts.ms > 64 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "ms must be between 1 and 64",
        ));
    }
    Ok(())
}

fn write_atomic(path: &Path, value: &Value, enc: &EncodeOptions) -> io::Result<u64> {
    let parent = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".picklescope-demo-").suffix(".tmp");
    #[cfg(unix)]
    {
        // like a file Python writes: 0644 less the umask (tempfile's default is 0600)
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(parent)?;
    let n = write_pickle(
        BufWriter::with_capacity(1 << 18, tmp.as_file_mut()),
        value,
        enc,
    )?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Module paths

const BASETASK: &str = "pipeline.infrastructure.basetask";
const PQA: &str = "pipeline.infrastructure.pipelineqa";
const CRO: &str = "pipeline.h.tasks.common.commonresultobjects";
const AFB: &str = "pipeline.h.tasks.common.arrayflaggerbase";
const CALLIB: &str = "pipeline.infrastructure.callibrary";
const DOMAIN_MS: &str = "pipeline.domain.measurementset";
const MEASURES: &str = "pipeline.domain.measures";

/// (results class, task class) per task.
fn classes(task: &str) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    match task {
        "hifa_importdata" => (
            (
                "pipeline.hifa.tasks.importdata.almaimportdata",
                "ALMAImportDataResults",
            ),
            (
                "pipeline.hifa.tasks.importdata.almaimportdata",
                "SerialALMAImportData",
            ),
        ),
        "hifa_flagdata" => (
            (
                "pipeline.hifa.tasks.flagging.flagdeteralma",
                "FlagDeterALMAResults",
            ),
            (
                "pipeline.hifa.tasks.flagging.flagdeteralma",
                "SerialFlagDeterALMA",
            ),
        ),
        "hifa_fluxcalflag" => (
            (
                "pipeline.hifa.tasks.fluxscale.fluxcalflag",
                "FluxcalFlagResults",
            ),
            ("pipeline.hifa.tasks.fluxscale.fluxcalflag", "FluxcalFlag"),
        ),
        "hif_rawflagchans" => (
            (
                "pipeline.hif.tasks.rawflagchans.resultobjects",
                "RawflagchansResults",
            ),
            (
                "pipeline.hif.tasks.rawflagchans.rawflagchans",
                "SerialRawflagchans",
            ),
        ),
        "hif_refant" => (
            (
                "pipeline.hif.tasks.refant.referenceantenna",
                "RefAntResults",
            ),
            ("pipeline.hif.tasks.refant.referenceantenna", "RefAnt"),
        ),
        "h_tsyscal" => (
            ("pipeline.h.tasks.tsyscal.resultobjects", "TsyscalResults"),
            ("pipeline.h.tasks.tsyscal.tsyscal", "SerialTsyscal"),
        ),
        "hifa_tsysflag" => (
            ("pipeline.h.tasks.tsysflag.resultobjects", "TsysflagResults"),
            ("pipeline.hifa.tasks.tsysflag.tsysflag", "SerialTsysflag"),
        ),
        "hifa_tsysflagcontamination" => (
            (
                "pipeline.hifa.tasks.tsysflagcontamination.tsysflagcontamination",
                "TsysFlagContaminationResults",
            ),
            (
                "pipeline.hifa.tasks.tsysflagcontamination.tsysflagcontamination",
                "SerialTsysFlagContamination",
            ),
        ),
        "hifa_antpos" => (
            ("pipeline.h.tasks.antpos.antpos", "AntposResults"),
            ("pipeline.hifa.tasks.antpos.almaantpos", "SerialALMAAntpos"),
        ),
        "hifa_wvrgcalflag" => (
            (
                "pipeline.hifa.tasks.wvrgcalflag.resultobjects",
                "WvrgcalflagResults",
            ),
            (
                "pipeline.hifa.tasks.wvrgcalflag.wvrgcalflag",
                "SerialWvrgcalflag",
            ),
        ),
        "hif_lowgainflag" => (
            (
                "pipeline.hif.tasks.lowgainflag.resultobjects",
                "LowgainflagResults",
            ),
            (
                "pipeline.hif.tasks.lowgainflag.lowgainflag",
                "SerialLowgainflag",
            ),
        ),
        "hif_setmodels" => (
            ("pipeline.hif.tasks.setmodel.setmodel", "SetModelsResults"),
            ("pipeline.hif.tasks.setmodel.setmodel", "SetModels"),
        ),
        "hifa_bandpassflag" => (
            (
                "pipeline.hifa.tasks.bandpassflag.resultobjects",
                "BandpassflagResults",
            ),
            (
                "pipeline.hifa.tasks.bandpassflag.bandpassflag",
                "SerialBandpassflag",
            ),
        ),
        "hifa_bandpass" => (
            ("pipeline.hif.tasks.bandpass.common", "BandpassResults"),
            (
                "pipeline.hifa.tasks.bandpass.almaphcorbandpass",
                "SerialALMAPhcorBandpass",
            ),
        ),
        "hifa_spwphaseup" => (
            (
                "pipeline.hifa.tasks.spwphaseup.spwphaseup",
                "SpwPhaseupResults",
            ),
            (
                "pipeline.hifa.tasks.spwphaseup.spwphaseup",
                "SerialSpwPhaseup",
            ),
        ),
        "hifa_gfluxscaleflag" => (
            (
                "pipeline.hifa.tasks.gfluxscaleflag.resultobjects",
                "GfluxscaleflagResults",
            ),
            (
                "pipeline.hifa.tasks.gfluxscaleflag.gfluxscaleflag",
                "SerialGfluxscaleflag",
            ),
        ),
        "hifa_gfluxscale" => (
            (
                "pipeline.hifa.tasks.fluxscale.gcorfluxscale",
                "GcorFluxscaleResults",
            ),
            (
                "pipeline.hifa.tasks.fluxscale.gcorfluxscale",
                "SerialGcorFluxscale",
            ),
        ),
        "hifa_timegaincal" => (
            (
                "pipeline.hifa.tasks.gaincal.timegaincal",
                "TimeGaincalResults",
            ),
            (
                "pipeline.hifa.tasks.gaincal.timegaincal",
                "SerialTimeGaincal",
            ),
        ),
        "hifa_renorm" => (
            ("pipeline.hifa.tasks.renorm.renorm", "RenormResults"),
            ("pipeline.hifa.tasks.renorm.renorm", "SerialRenorm"),
        ),
        "hifa_targetflag" => (
            (
                "pipeline.hifa.tasks.targetflag.targetflag",
                "TargetflagResults",
            ),
            (
                "pipeline.hifa.tasks.targetflag.targetflag",
                "SerialTargetflag",
            ),
        ),
        "hif_applycal" => (
            ("pipeline.h.tasks.applycal.applycal", "ApplycalResults"),
            (
                "pipeline.hifa.tasks.applycal.almaapplycal",
                "SerialALMAApplycal",
            ),
        ),
        "hif_makeimlist" => (
            (
                "pipeline.hif.tasks.makeimlist.resultobjects",
                "MakeImListResult",
            ),
            ("pipeline.hif.tasks.makeimlist.makeimlist", "MakeImList"),
        ),
        "hif_makeimages" => (
            (
                "pipeline.hif.tasks.makeimages.resultobjects",
                "MakeImagesResult",
            ),
            ("pipeline.hif.tasks.makeimages.makeimages", "MakeImages"),
        ),
        "hifa_imageprecheck" => (
            (
                "pipeline.hifa.tasks.imageprecheck.resultobjects",
                "ImagePreCheckResults",
            ),
            (
                "pipeline.hifa.tasks.imageprecheck.imageprecheck",
                "ImagePreCheck",
            ),
        ),
        "hif_checkproductsize" => (
            (
                "pipeline.hif.tasks.checkproductsize.resultobjects",
                "CheckProductSizeResult",
            ),
            (
                "pipeline.hif.tasks.checkproductsize.checkproductsize",
                "CheckProductSize",
            ),
        ),
        "hifa_exportdata" => (
            (
                "pipeline.h.tasks.exportdata.exportdata",
                "ExportDataResults",
            ),
            (
                "pipeline.hifa.tasks.exportdata.almaexportdata",
                "ALMAExportData",
            ),
        ),
        "hif_mstransform" => (
            (
                "pipeline.hif.tasks.mstransform.mstransform",
                "MstransformResults",
            ),
            (
                "pipeline.hif.tasks.mstransform.mstransform",
                "SerialMstransform",
            ),
        ),
        "hifa_flagtargets" => (
            (
                "pipeline.hifa.tasks.flagging.flagtargetsalma",
                "FlagTargetsALMAResults",
            ),
            (
                "pipeline.hifa.tasks.flagging.flagtargetsalma",
                "SerialFlagTargetsALMA",
            ),
        ),
        "hif_findcont" => (
            (
                "pipeline.hif.tasks.findcont.resultobjects",
                "FindContResult",
            ),
            ("pipeline.hif.tasks.findcont.findcont", "FindCont"),
        ),
        "hif_uvcontsub" => (
            ("pipeline.hif.tasks.uvcontsub.uvcontsub", "UVcontSubResults"),
            ("pipeline.hif.tasks.uvcontsub.uvcontsub", "SerialUVcontSub"),
        ),
        "hif_selfcal" => (
            ("pipeline.hif.tasks.selfcal.selfcal", "SelfcalResults"),
            ("pipeline.hif.tasks.selfcal.selfcal", "Selfcal"),
        ),
        _ => (
            ("pipeline.infrastructure.basetask", "Results"),
            ("pipeline.infrastructure.basetask", "StandardTaskTemplate"),
        ),
    }
}

/// Tasks that run once per session rather than once per measurement set.
fn session_level(task: &str) -> bool {
    matches!(
        task,
        "hifa_importdata"
            | "hif_makeimlist"
            | "hif_makeimages"
            | "hifa_imageprecheck"
            | "hif_checkproductsize"
            | "hifa_exportdata"
            | "hif_findcont"
            | "hif_selfcal"
    )
}

const ANTENNAS: [&str; 10] = [
    "DA41", "DA42", "DA45", "DA49", "DA52", "DV03", "DV07", "DV12", "DV18", "DV24",
];
const SPWS: [i64; 4] = [17, 19, 21, 23];
const POLS: [&str; 2] = ["XX", "YY"];
const FIELDS: [(&str, &str); 3] = [
    ("J1427-4206", "BANDPASS,FLUX"),
    ("J1337-1257", "PHASE"),
    ("NGC_5128", "TARGET"),
];
const N_ANT: usize = 8;
/// 2024-05-01T00:00:00Z.
const DAY_EPOCH: f64 = 1_714_521_600.0;

// ---------------------------------------------------------------------------------------------
// Generator

#[derive(Clone)]
struct Demo {
    opts: DemoOptions,
    /// The run's name (the context's `name`).
    name: &'static str,
    /// How many stages the run got through (its `ResultsProxy`s).
    run_stages: u32,
    rng: Rng,
    nchan: u64,
    ntime: u64,
    nscan: usize,
    ms: Vec<String>,
    utc: Value,
    weblog: [Value; 4],
    /// The enum member `FrequencyUnits.GIGAHERTZ` (a singleton).
    ghz: Value,
}

fn sv(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn stage_seed(seed: u64, stage: u32) -> u64 {
    seed ^ u64::from(stage).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn scaled(base: f64, scale: f64, min: u64) -> u64 {
    ((base * scale).round() as u64).max(min)
}

/// The uuid (as a 128-bit int, version 4) of stage `stage`'s `ResultsList` (0: the context).
fn stage_uuid(seed: u64, stage: u32) -> u128 {
    let mut r = Rng::new(stage_seed(seed, stage) ^ 0x5555_AAAA);
    let hi = u128::from(r.next_u64());
    let lo = u128::from(r.next_u64());
    let x = (hi << 64) | lo;
    // version 4, RFC 4122 variant
    (x & !(0xF000u128 << 64) & !(0xC000u128 << 48)) | (0x4000u128 << 64) | (0x8000u128 << 48)
}

impl Demo {
    fn new(opts: &DemoOptions) -> Demo {
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
    fn older(opts: &DemoOptions) -> Demo {
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

    fn real(&self) -> bool {
        self.opts.layouts == Layouts::Real
    }

    fn seed(&mut self) -> u64 {
        self.rng.next_u64()
    }

    fn ms_path(&self, ms: &str) -> String {
        format!("{DEMO_OUTPUT_DIR}/{ms}")
    }

    fn uuid(&mut self, int: u128) -> Value {
        Value::instance("uuid", "UUID", [("int", Value::long_u128(int))])
    }

    fn random_uuid(&mut self) -> Value {
        let x = (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64());
        let x = (x & !(0xF000u128 << 64) & !(0xC000u128 << 48))
            | (0x4000u128 << 64)
            | (0x8000u128 << 48);
        self.uuid(x)
    }

    fn datetime(&self, secs: f64) -> Value {
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

    fn stage_times(&mut self, stage: u32) -> (f64, f64) {
        let start = 7_987.0 + f64::from(stage) * 1_500.0 + self.rng.f64() * 300.0;
        (start, start + 20.0 + self.rng.f64() * 900.0)
    }

    fn timestamps(&mut self, t: (f64, f64)) -> Value {
        Value::newobj(
            BASETASK,
            "Timestamps",
            vec![self.datetime(t.0), self.datetime(t.1)],
            None,
        )
    }

    fn target_selection(&self, vis: Option<&str>, spw: Option<i64>, intent: Option<&str>) -> Value {
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

    fn qa_score(&mut self, task: &str, vis: Option<&str>, spw: Option<i64>) -> Value {
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

    fn qa_pool(&self, scores: Vec<Value>, representative: Option<Value>) -> Value {
        Value::instance(
            PQA,
            "QAScorePool",
            [
                ("pool", Value::List(scores)),
                ("_representative", representative.unwrap_or(Value::None)),
            ],
        )
    }

    fn logrecords(&mut self, task: &str, t: f64, n: usize) -> Value {
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

    fn casa_task(&self, task: &str, vis: &[String]) -> String {
        let list = vis
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{task}(vis=[{list}])")
    }

    fn inputs(&self, task: &str, vis: &[String]) -> Value {
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

    /// A `Results` subclass with the documented attribute order.
    #[allow(clippy::too_many_arguments)]
    fn results(
        &mut self,
        class: (&str, &str),
        taskclass: (&str, &str),
        task: &str,
        stage: u32,
        vis: &[String],
        qa: Value,
        specific: Vec<(String, Value)>,
        times: (f64, f64),
        nlog: usize,
    ) -> Value {
        let mut attrs: Vec<(String, Value)> = vec![
            ("_uuid".into(), self.random_uuid()),
            ("qa".into(), qa),
            ("_metadata".into(), Value::Dict(Vec::new())),
        ];
        attrs.extend(specific);
        attrs.push(("task".into(), Value::global(taskclass.0, taskclass.1)));
        attrs.push(("logrecords".into(), self.logrecords(task, times.0, nlog)));
        attrs.push(("inputs".into(), self.inputs(task, vis)));
        attrs.push(("stage_number".into(), Value::Int(i64::from(stage))));
        attrs.push((
            "pipeline_casa_task".into(),
            Value::Str(self.casa_task(task, vis)),
        ));
        attrs.push(("timestamps".into(), self.timestamps(times)));
        Value::instance(class.0, class.1, attrs)
    }

    // -----------------------------------------------------------------------------------------
    // Views

    fn axes(&mut self, first: (&str, &str, u64), second: (&str, &str, u64)) -> Value {
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

    #[allow(clippy::too_many_arguments)]
    fn image_result(
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
        let data = NdArray::synth(
            DType::F8,
            &shape,
            self.seed(),
            Fill::Noise {
                mean: 1.0,
                sigma: 0.05,
            },
        );
        let flag = NdArray::synth(
            DType::Bool,
            &shape,
            self.seed(),
            Fill::Sparse { density: 0.02 },
        );
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
                ("data", Value::array(data)),
                ("axes", axes.clone()),
                ("flag", Value::array(flag)),
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

    fn defaultdict(items: Vec<(Value, Value)>) -> Value {
        Value::Object(Box::new(Object {
            call: Call::Reduce,
            callable: Value::global("collections", "defaultdict"),
            args: vec![Value::global("builtins", "list")],
            list_items: Vec::new(),
            dict_items: items,
            state: None,
        }))
    }

    fn description(
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

    fn flagcmds(&mut self, filename: &str, rulename: &str, n: usize) -> Value {
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
    fn view(
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
                            real::set_attrs(&mut image, vec![("children", children)]);
                        }
                        image
                    })
                    .collect();
                items.push((Value::Str(desc), Value::List(list)));
            }
        }
        Demo::defaultdict(items)
    }

    fn summary(&mut self, name: &str, detail: bool) -> Value {
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

    fn frequency(&mut self, ghz: f64) -> Value {
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
    fn cal_application(&mut self, vis: &str, table: &str, caltype: &str, spw: &str) -> Value {
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

    fn clean_target(&mut self, field: &str, intent: &str, spw: &str, specmode: &str) -> Value {
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

    // -----------------------------------------------------------------------------------------
    // Stage-specific fields

    fn specific(&mut self, task: &str, stage: u32, vis: Option<&str>) -> Vec<(String, Value)> {
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

    // -----------------------------------------------------------------------------------------
    // Stage results and the context

    fn stage(mut self, stage: u32) -> Value {
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
        let attrs: Vec<(String, Value)> = vec![
            ("_uuid".into(), self.uuid(stage_uuid(self.opts.seed, stage))),
            ("qa".into(), qa),
            ("_metadata".into(), Value::Dict(Vec::new())),
            ("_ResultsList__results".into(), Value::List(items)),
            ("task".into(), Value::global(taskclass.0, taskclass.1)),
            ("logrecords".into(), self.logrecords(task, times.0, 1)),
            ("inputs".into(), self.inputs(task, &ms)),
            ("stage_number".into(), Value::Int(i64::from(stage))),
            (
                "pipeline_casa_task".into(),
                Value::Str(self.casa_task(task, &ms)),
            ),
            ("timestamps".into(), self.timestamps(times)),
        ];
        Value::instance(BASETASK, "ResultsList", attrs)
    }

    fn spectral_window(&mut self, spw: i64, nchan: u64) -> Value {
        if self.real() {
            return self.real_spectral_window(spw, nchan);
        }
        let f0 = 86.0 + (spw - 17) as f64 * 0.9;
        let width = 0.001_953_125 * 128.0 / nchan as f64;
        let bw = self.frequency(width * nchan as f64);
        let reff = self.frequency(f0);
        let mean = self.frequency(f0 + width * nchan as f64 / 2.0);
        // __slots__ + __getstate__ returning a tuple: BUILD state is this tuple.
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
                sv("ALMA Band 3"),
                Value::Int(nchan as i64),
                Value::Set(vec![sv("BANDPASS"), sv("PHASE"), sv("TARGET"), sv("FLUX")]),
                Value::Int(if spw < 20 { 1 } else { -1 }),
                Value::Int(1 + (spw - 17) / 2),
                Value::List(vec![sv("N2H+_v_0_1-0(ID=1734201)")]),
                sv("X1013209920#1"),
                Value::array(NdArray::synth(
                    DType::F8,
                    &[nchan],
                    self.seed(),
                    Fill::Arange {
                        start: f0 * 1e9,
                        step: width * 1e9,
                    },
                )),
                Value::array(NdArray::synth(
                    DType::F8,
                    &[nchan],
                    self.seed(),
                    Fill::Arange {
                        start: width * 1e9,
                        step: 0.0,
                    },
                )),
                Value::List(vec![self.frequency(f0 - 4.0)]),
            ])),
        )
    }

    fn measurement_set(&mut self, name: &str) -> Value {
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
            real::set_attrs(&mut ms, extras);
        }
        ms
    }

    fn context(mut self) -> Value {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::synth::encode;

    #[test]
    fn every_stage_encodes() {
        let o = DemoOptions {
            scale: 0.1,
            ms: 1,
            seed: 3,
            layouts: Default::default(),
        };
        for n in 1..=48 {
            let v = stage_result(n, &o).unwrap();
            let b = encode(&v, 5).unwrap();
            assert!(b.len() > 100, "stage {n}");
        }
        assert!(stage_result(0, &o).is_none());
        assert!(stage_result(49, &o).is_none());
        let c = encode(&context_value(&o), 5).unwrap();
        assert!(c.windows(7).any(|w| w == b"Context"));
    }

    #[test]
    fn same_seed_same_bytes() {
        let o = DemoOptions::default();
        let a = encode(&stage_result(4, &o).unwrap(), 5).unwrap();
        let b = encode(&stage_result(4, &o).unwrap(), 5).unwrap();
        assert_eq!(a, b);
        let o2 = DemoOptions { seed: 9, ..o };
        let c = encode(&stage_result(4, &o2).unwrap(), 5).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn streamed_files_equal_in_memory_encoding() {
        let d = tempfile::tempdir().unwrap();
        // scale 2: stage 4's arrays pass 64 KiB, so they are written outside frames
        let o = DemoOptions {
            scale: 2.0,
            ms: 1,
            seed: 11,
            layouts: Default::default(),
        };
        let s = write_demo(d.path(), &o).unwrap();
        for stage in [4u32, 7, 14] {
            let f = &s.files[stage as usize - 1];
            assert_eq!(f.stage, Some(stage));
            let want = encode(&stage_result(stage, &o).unwrap(), 5).unwrap();
            assert_eq!(fs::read(&f.path).unwrap(), want, "stage {stage}");
        }
        let ctx = encode(&context_value(&o), 5).unwrap();
        assert_eq!(fs::read(&s.context).unwrap(), ctx);
    }

    #[test]
    fn rejects_bad_options() {
        let d = tempfile::tempdir().unwrap();
        let bad = DemoOptions {
            scale: f64::NAN,
            ..DemoOptions::default()
        };
        assert!(write_demo(d.path(), &bad).is_err());
        let bad = DemoOptions {
            ms: 0,
            ..DemoOptions::default()
        };
        assert!(write_demo(d.path(), &bad).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinked_run_dir_and_replaces_symlinked_files() {
        let d = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), d.path().join(DEMO_NAME)).unwrap();
        let o = DemoOptions {
            scale: 0.05,
            ms: 1,
            seed: 1,
            layouts: Default::default(),
        };
        assert!(write_demo(d.path(), &o).is_err());
        assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);

        let d = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("victim");
        fs::write(&victim, b"keep me").unwrap();
        std::os::unix::fs::symlink(&victim, d.path().join(format!("{DEMO_NAME}.context"))).unwrap();
        let s = write_demo(d.path(), &o).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert!(
            !fs::symlink_metadata(&s.context)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(s.files.len(), 49);
    }
}
