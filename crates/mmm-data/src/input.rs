//! The files an experiment spec names, checked before they are read (see
//! [`mmm_core::input`] for the checks and the bounds on every input).

use crate::spec::LoadedSpec;
use mmm_core::error::Result;
use mmm_core::input::check_spec_file;
use std::path::{Path, PathBuf};

/// Every file an experiment spec names, resolved against the spec's folder, with its JSON
/// pointer: the data (`/data/path`) and the holiday calendar (`/baseline/holidays/path`).
pub fn spec_files(loaded: &LoadedSpec) -> Vec<(PathBuf, &'static str)> {
    let mut files = vec![(loaded.data_path(), "/data/path")];
    if let Some(h) = &loaded.spec.baseline.holidays {
        let p = Path::new(&h.path);
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            loaded.dir.join(p)
        };
        files.push((p, "/baseline/holidays/path"));
    }
    files
}

/// [`check_spec_file`] for every file of [`spec_files`].
pub fn check_spec_files(loaded: &LoadedSpec) -> Result<()> {
    for (p, pointer) in spec_files(loaded) {
        check_spec_file(&p, &loaded.file, pointer)?;
    }
    Ok(())
}
