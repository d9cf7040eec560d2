//! The last resort against bugs: a panic ends the command with exit code 1 and a message that
//! says it is a bug in mmm, instead of Rust's panic output and exit code 101. Causes are
//! fixed where they are (see issue 17); this only keeps the promise when one was missed.
//! Staging folders are removed as the panic unwinds (`Staging`'s `Drop`).

use mmm_core::error::MmmError;

/// Runs `f`; a panic inside it becomes an [`MmmError::Compute`] (exit code 1).
pub(crate) fn catch_bug<F>(f: F) -> Result<(), MmmError>
where
    F: FnOnce() -> Result<(), MmmError>,
{
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        mmm_core::errln!("error: this is a bug in mmm, please report it: {info}");
    }));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    r.unwrap_or_else(|_| {
        Err(MmmError::Compute(
            "mmm stopped on an internal error (a bug in mmm, not in your input; see above)".into(),
        ))
    })
}
