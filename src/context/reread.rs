//! How many times one pipeline run reads each stage file back (the weblog renderer's cost).
//!
//! After every stage the pipeline's weblog renderer unpickles every result written so far
//! (`context.results = [proxy.read() for proxy in context.results]`). In a run of S stages,
//! the result of stage k is therefore read back S − k + 1 times: once after its own stage and
//! once after each later one. Here S is the highest stage number among the source's
//! `result-stage<N>.pickle` files (the stages run so far, when a run is unfinished or one file
//! is opened alone). The `.context` itself, debug `context-stage<N>.pickle` dumps and other
//! pickles are not read back by the renderer: their count is 0 (the context is reloaded by
//! MPI workers and on resume, a cost that depends on the cluster, not on the stage count).

use super::discover::{FileRole, SourceFile};

/// S: the highest stage number among the result files of `files` (`None` when there is none).
pub fn last_stage(files: &[SourceFile]) -> Option<u32> {
    files
        .iter()
        .filter_map(|f| match f.role {
            FileRole::Result(k) => Some(k),
            _ => None,
        })
        .max()
}

/// How many times a file of `role` is read back in a run whose last stage is `last`:
/// S − k + 1 for the result of stage k, 0 for anything else.
pub fn reread_times(role: FileRole, last: Option<u32>) -> u64 {
    match (role, last) {
        (FileRole::Result(k), Some(s)) if k <= s => u64::from(s - k) + 1,
        _ => 0,
    }
}

/// Bytes read back per run for a file of `bytes` read back `times` times.
pub fn reread_bytes(bytes: u64, times: u64) -> u64 {
    bytes.saturating_mul(times)
}

/// Read-back counts of a whole source, computed once from its file list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rereads {
    /// S, the last stage.
    pub last: Option<u32>,
}

impl Rereads {
    pub fn of(files: &[SourceFile]) -> Rereads {
        Rereads {
            last: last_stage(files),
        }
    }

    /// Read-back count of `file`.
    pub fn times(&self, file: &SourceFile) -> u64 {
        reread_times(file.role, self.last)
    }

    /// Bytes `file` (of `bytes` bytes) costs per run in read-backs.
    pub fn bytes(&self, file: &SourceFile, bytes: u64) -> u64 {
        reread_bytes(bytes, self.times(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str) -> SourceFile {
        let path = std::path::PathBuf::from(name);
        SourceFile::plain(path.clone(), super::super::discover::role_of(&path))
    }

    #[test]
    fn stage_k_of_s_is_read_s_minus_k_plus_one_times() {
        let files: Vec<SourceFile> = ["x.context", "result-stage4.pickle", "result-stage48.pickle"]
            .iter()
            .map(|n| f(n))
            .collect();
        let r = Rereads::of(&files);
        assert_eq!(r.last, Some(48));
        assert_eq!(r.times(&files[0]), 0, "the context is not read back");
        assert_eq!(r.times(&files[1]), 45);
        assert_eq!(r.times(&files[2]), 1);
        assert_eq!(r.bytes(&files[1], 1_020_000_000), 45_900_000_000);
        let dump = f("context-stage7.pickle");
        assert_eq!(r.times(&dump), 0);
    }

    #[test]
    fn a_lone_stage_file_is_its_own_last_stage() {
        let files = vec![f("result-stage4.pickle")];
        assert_eq!(Rereads::of(&files).times(&files[0]), 1);
        let other = vec![f("data.pkl")];
        assert_eq!(Rereads::of(&other).last, None);
        assert_eq!(Rereads::of(&other).times(&other[0]), 0);
    }
}
