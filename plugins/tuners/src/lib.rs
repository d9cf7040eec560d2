//! Built-in tuning strategy plugins of mmm: random search, Latin hypercube sampling and
//! differential evolution. Each plugin is one file with one type and one registration line.

// Numeric kernels index several arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub mod differential_evolution;
pub mod latin_hypercube;
pub mod random;
