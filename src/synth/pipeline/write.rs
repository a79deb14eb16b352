//! Writing a run to disk: one pickle per stage and the context, each through a temporary file
//! renamed into place; the same values for tests (`stage_result`, `context_value`).

use std::fs;
use std::io::{self, BufWriter};
use std::path::Path;

use super::super::pickler::{EncodeOptions, NumpyFlavor, Value, write_pickle};
use super::demo::Demo;
use super::options::{DEMO_NAME, DemoFile, DemoOptions, DemoSummary, Layouts, OLDER_NAME};
use super::tasks::STAGES;

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
