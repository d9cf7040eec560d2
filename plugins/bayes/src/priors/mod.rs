//! The built-in prior families, one file each.

pub mod beta;
pub mod exponential;
pub mod flat;
pub mod gamma;
pub mod half_cauchy;
pub mod half_normal;
pub mod laplace;
pub mod log_normal;
pub mod normal;
pub mod student_t;
pub mod truncated_normal;
pub mod uniform;
