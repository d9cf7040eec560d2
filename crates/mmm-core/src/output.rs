//! Writing outputs: every file goes to a temporary file in the output folder and is renamed
//! into place, so that no reader ever sees half a file, and nothing is written elsewhere.

use crate::error::{MmmError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Creates the output folder (and its parents) when missing.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| MmmError::io(dir, e))
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
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| MmmError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| MmmError::io(&target, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| MmmError::io(&target, e))?;
    tmp.persist(&target)
        .map_err(|e| MmmError::io(&target, e.error))?;
    Ok(target)
}
