//! Built-in tuning strategy plugins of mmm: random search, Latin hypercube sampling and
//! differential evolution. Each plugin is one file with one type and one registration line.

pub mod differential_evolution;
pub mod latin_hypercube;
pub mod random;
