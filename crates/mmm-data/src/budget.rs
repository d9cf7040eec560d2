//! Memory a fit will need, estimated from the spec and the data's size and checked against the
//! machine before any work (see [`mmm_core::budget`]).

use crate::spec::ExperimentSpec;
use mmm_core::budget::{human_bytes, USABLE_SHARE};
use mmm_core::error::SpecIssue;

/// Problems with the memory the spec's model needs for `n_obs` periods and `n_cols` design
/// columns, against `available` bytes.
pub fn memory_issues(
    spec: &ExperimentSpec,
    n_obs: usize,
    n_cols: usize,
    available: f64,
) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    if let Some((need, formula)) = spec.model.memory_estimate(n_obs, n_cols) {
        if need > USABLE_SHARE * available {
            issues.push(SpecIssue {
                pointer: "/model".into(),
                message: format!(
                    "the fit needs about {} of memory ({formula}, {n_obs} periods, {n_cols} \
                     columns) but {} is available; lower the number of draws or chains",
                    human_bytes(need),
                    human_bytes(available)
                ),
            });
        }
    }
    issues
}
