//! Writing outputs: every file goes to a temporary file in the output folder and is renamed
//! into place, so that no reader ever sees half a file, and nothing is written elsewhere.
//! Commands build all their outputs this way inside a staging folder
//! ([`crate::staging::Staging`]) and move them into `--out` together.
//!
//! Files are created with mode `0666` less the process's umask (`0644` with umask `022`), as
//! any other program's outputs: the temporary file's private mode would survive the rename.

use mmm_core::error::{MmmError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Creates the output folder (and its parents) when missing.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| MmmError::io(dir, e))
}

/// A new temporary file `dir/.<name>.XXXXXX.tmp`, created with mode `0666` less the umask
/// (the mode the finished output keeps).
pub fn temp_file(dir: &Path, name: &str) -> Result<tempfile::NamedTempFile> {
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir).map_err(|e| MmmError::io(dir, e))
}

/// Writes `bytes` to `dir/name` atomically (temporary file in `dir`, then rename).
/// `name` must be a plain file name.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    if name.contains('/') || name.contains('\\') || name == ".." || name.is_empty() {
        return Err(MmmError::Compute(format!(
            "refusing to write '{name}' outside the output folder"
        )));
    }
    let target = dir.join(name);
    let mut tmp = temp_file(dir, name)?;
    tmp.write_all(bytes).map_err(|e| MmmError::io(&target, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| MmmError::io(&target, e))?;
    tmp.persist(&target)
        .map_err(|e| MmmError::io(&target, e.error))?;
    Ok(target)
}
