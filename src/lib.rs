//! # mmm — marketing mix modeling
//!
//! This crate links every built-in plugin and exposes the whole command-line interface as a
//! function, so that a team can build its own binary with its own plugins:
//!
//! ```no_run
//! // src/main.rs of an in-house crate; `mod my_transform;` registers its plugin.
//! fn main() -> std::process::ExitCode {
//!     mmm::cli::main()
//! }
//! ```

// Keep every built-in plugin crate's `inventory` registrations in the final binary: a crate that
// nothing references would otherwise be dropped by the linker (inventory issue #7).
use mmm_bayes as _;
use mmm_causal as _;
use mmm_models as _;
use mmm_optimizers as _;
use mmm_transforms as _;
use mmm_tuners as _;

pub mod api;
pub mod cli;
mod guard;

pub use mmm_core as core;
pub use mmm_data as data;
pub use mmm_engine as engine;
