//! Resolving the search ranges of a spec (see [`mmm_core::search`]) to the parameters they
//! set.

use crate::spec::ExperimentSpec;
use mmm_core::error::SpecIssue;
use mmm_core::search::{SearchParam, Target};

/// Resolves every range to the parameter it sets and checks it lies within the parameter's
/// valid range.
pub fn resolve(spec: &ExperimentSpec, params: &mut [SearchParam]) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    for p in params.iter_mut() {
        let parts: Vec<&str> = p.pointer.trim_start_matches('/').split('/').collect();
        let (specs, target, owner) = match parts.as_slice() {
            ["media", i, "transforms", j, name] => {
                let (i, j): (usize, usize) = (
                    i.parse().unwrap_or(usize::MAX),
                    j.parse().unwrap_or(usize::MAX),
                );
                let Some(t) = spec.media.get(i).and_then(|m| m.transforms.get(j)) else {
                    continue;
                };
                let specs = t.params();
                let idx = specs.iter().position(|s| s.name == *name);
                (
                    specs,
                    idx.map(|index| Target::Transform {
                        channel: i,
                        transform: j,
                        index,
                    }),
                    t.typetag_name(),
                )
            }
            ["model", name] => {
                let specs = spec.model.params();
                let idx = specs.iter().position(|s| s.name == *name);
                (
                    specs,
                    idx.map(|index| Target::Model { index }),
                    spec.model.typetag_name(),
                )
            }
            _ => continue,
        };
        match target {
            None => issues.push(SpecIssue {
                pointer: p.pointer.clone(),
                message: format!(
                    "'{}' of {owner} cannot be tuned; its continuous parameters are: {}",
                    parts.last().unwrap_or(&""),
                    specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                ),
            }),
            Some(t) => {
                let idx = match t {
                    Target::Transform { index, .. } | Target::Model { index } => index,
                    Target::Unresolved => 0,
                };
                let s = specs[idx];
                if !s.contains(p.low) || !s.contains(p.high) {
                    issues.push(SpecIssue {
                        pointer: format!("{}/range", p.pointer),
                        message: format!(
                            "the range [{}, {}] leaves the valid range {} of {}",
                            p.low,
                            p.high,
                            s.interval(),
                            s.name
                        ),
                    });
                }
                p.target = t;
            }
        }
    }
    issues
}
