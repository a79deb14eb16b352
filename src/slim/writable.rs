//! Whether a file can be saved in place, asked before any work: its directory must take a
//! new file and a rename (write and search permission) and must not be on a read-only mount.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The directory a save of `path` writes into: that of the file a symlink points at.
pub fn save_dir(path: &Path) -> std::io::Result<PathBuf> {
    let target = std::fs::canonicalize(path)?;
    Ok(target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")))
}

/// Why `path` cannot be saved in place, or `None` when it can (as far as the kernel says
/// now: permissions may still change before the save).
pub fn why_not_writable(path: &Path) -> Option<String> {
    let dir = match save_dir(path) {
        Ok(d) => d,
        Err(e) => return Some(e.to_string()),
    };
    dir_refuses(&dir)
}

/// Why a new file cannot be created and renamed in `dir`, or `None`.
pub fn dir_refuses(dir: &Path) -> Option<String> {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return Some(format!("{}: path holds a NUL byte", dir.display()));
    };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a zeroed statvfs the call fills in.
    #[allow(unsafe_code)]
    let read_only_mount = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        libc::statvfs(c.as_ptr(), &mut st) == 0 && st.f_flag & libc::ST_RDONLY != 0
    };
    let refuse = |e: std::io::Error| Some(format!("cannot create files in {}: {e}", dir.display()));
    if read_only_mount {
        return refuse(std::io::Error::from_raw_os_error(libc::EROFS));
    }
    // SAFETY: access only reads the NUL-terminated path.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0;
    if ok {
        return None;
    }
    refuse(std::io::Error::last_os_error())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_normal_directory_is_writable() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = d.path().join("a.pickle");
        std::fs::write(&f, b"N.").expect("write");
        assert_eq!(why_not_writable(&f), None);
    }

    #[test]
    fn a_missing_file_says_why() {
        let d = tempfile::tempdir().expect("tempdir");
        assert!(why_not_writable(&d.path().join("missing")).is_some());
    }

    #[test]
    fn a_locked_directory_is_not_writable_unless_root() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = d.path().join("a.pickle");
        std::fs::write(&f, b"N.").expect("write");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let why = why_not_writable(&f);
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // SAFETY: geteuid has no preconditions.
        #[allow(unsafe_code)]
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            // root may write anyway (only a read-only mount stops it).
            assert_eq!(why, None);
        } else {
            assert!(why.is_some_and(|w| w.contains("Permission denied")));
        }
    }
}
