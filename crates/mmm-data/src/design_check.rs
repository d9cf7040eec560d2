//! Checks of the assembled design before any fit, so that a design the spec makes singular is
//! the user's error (exit 2, naming the columns and the spec paths that made them) rather than
//! a failed fit (exit 1):
//!
//! - the target is not constant (there would be nothing to explain);
//! - no baseline term and no channel's transformed spend is constant or numerically zero
//!   (`max |x| < √f64::MIN_POSITIVE ≈ 1.5e-154`, whose squares underflow), e.g. a Hill
//!   `half_saturation` far above every spend, or a seasonality period far beyond the data;
//! - the columns are linearly independent: with every column scaled to unit length `x̃_j`,
//!   modified Gram–Schmidt (with re-orthogonalization) finds the residual `r_j` of `x̃_j` on the
//!   earlier columns, and `‖r_j‖² < 1e-12` (that is `1 − R²_j < 1e-12`, the models' own
//!   Cholesky pivot test) marks `x̃_j` as dependent; the columns of the dependency are those
//!   with a coefficient above `1e-6` of the largest in `x̃_j ≈ Σ_k b_k x̃_k`.

use crate::spec::{ExperimentSpec, LoadedSpec};
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result, SpecIssue};
use mmm_core::model::Role;

/// Values below this are numerically zero: their squares underflow.
const TINY: f64 = 1.4916681462400413e-154;

/// Runs every check on `data` built from `loaded`.
pub fn check(data: &ModelData, loaded: &LoadedSpec) -> Result<()> {
    let spec = &loaded.spec;
    if let Some(first) = data.y.first() {
        if data.y.iter().all(|v| v == first) {
            return Err(MmmError::data(
                &data.source,
                None,
                Some(&data.target_name),
                format!(
                    "the target '{}' is constant ({first}): there is nothing to explain",
                    data.target_name
                ),
            ));
        }
    }
    let n_cols = data.regressors.len() + data.media.len();
    let mut issues = crate::budget::memory_issues(
        spec,
        data.n_obs(),
        n_cols,
        mmm_core::budget::available_memory(),
    );
    for r in &data.regressors {
        if r.column.role == Role::Baseline && degenerate(&r.values) {
            issues.push(SpecIssue {
                pointer: column_pointer(spec, &r.column.name, r.column.role, None),
                message: format!(
                    "baseline term '{}' is {} over the data's {} periods and cannot be \
                     estimated",
                    r.column.name,
                    describe(&r.values),
                    data.n_obs()
                ),
            });
        }
    }
    // A model that samples the transform parameters (a Bayesian model) treats the spec's values
    // as the chains' starting point only: the transformed columns at those values say nothing
    // about the design the sampler explores, so they are not checked here.
    let sampled = spec.model.samples_transform_params();
    for (i, t) in data.transformed.iter().enumerate() {
        if !sampled && degenerate(t) {
            issues.push(SpecIssue {
                pointer: format!("/media/{i}/transforms"),
                message: format!(
                    "the transforms of channel '{}' turn its (non-constant) spend into a series \
                     that is {}; check their parameters against the spend's scale",
                    data.media[i].name,
                    describe(t)
                ),
            });
        }
    }
    if let Some(v) = &spec.validation {
        issues.extend(validation_issues(v, data.n_obs(), n_cols));
    }
    if issues.is_empty() && !sampled {
        issues.extend(dependency(data, spec));
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(MmmError::Spec {
            file: loaded.file.clone(),
            issues,
        })
    }
}

/// Whether a column is constant or numerically zero.
fn degenerate(v: &[f64]) -> bool {
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(*x), h.max(*x))
        });
    let scale = lo.abs().max(hi.abs());
    scale < TINY || hi - lo <= 1e-12 * scale
}

fn describe(v: &[f64]) -> String {
    let scale = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if scale < TINY {
        format!("numerically zero (largest magnitude {scale:e})")
    } else {
        format!("constant ({:e})", v.first().copied().unwrap_or(0.0))
    }
}

/// The spec path that made a design column.
fn column_pointer(spec: &ExperimentSpec, name: &str, role: Role, channel: Option<usize>) -> String {
    if let Some(i) = channel {
        return format!("/media/{i}");
    }
    match role {
        Role::Intercept => "/baseline/intercept".into(),
        Role::Control => spec
            .controls
            .iter()
            .position(|c| {
                let col = c.column();
                name == col
                    || (name.starts_with(col)
                        && name[col.len()..].starts_with('[')
                        && name.ends_with(']'))
            })
            .map(|j| format!("/controls/{j}"))
            .unwrap_or_else(|| "/controls".into()),
        _ => crate::roles::baseline_names(spec)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
            .unwrap_or_else(|| {
                if name.starts_with("holiday") {
                    "/baseline/holidays".into()
                } else {
                    "/baseline".into()
                }
            }),
    }
}

/// The first linear dependency among the design's columns, as one issue at the pointer of the
/// dependent column.
fn dependency(data: &ModelData, spec: &ExperimentSpec) -> Option<SpecIssue> {
    let design = data.design(&data.all_channels(), &[]);
    let n = design.n_obs();
    let k = design.columns.len();
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(k);
    // r[j] holds the coefficients of kept column j on the orthonormal basis q[0..=j]
    let mut r: Vec<Vec<f64>> = Vec::with_capacity(k);
    let mut kept: Vec<usize> = Vec::with_capacity(k);
    for j in 0..k {
        let col = design.x.column(j);
        let norm = col.norm();
        if !(norm > 0.0 && norm.is_finite()) {
            continue; // degenerate columns are reported by `check`
        }
        let mut v: Vec<f64> = col.iter().map(|x| x / norm).collect();
        let mut coef = vec![0.0; q.len()];
        for _ in 0..2 {
            for (c, qk) in coef.iter_mut().zip(&q) {
                let d: f64 = v.iter().zip(qk).map(|(a, b)| a * b).sum();
                *c += d;
                for (a, b) in v.iter_mut().zip(qk) {
                    *a -= d * b;
                }
            }
        }
        let rr: f64 = v.iter().map(|a| a * a).sum();
        if rr < 1e-12 {
            // x̃_j = Σ_k coef_k q_k = Σ_k b_k x̃_kept[k]: back-substitute R b = coef
            let m = kept.len();
            let mut b = coef.clone();
            for a in (0..m).rev() {
                for c in a + 1..m {
                    b[a] -= r[c][a] * b[c];
                }
                b[a] /= r[a][a];
            }
            let bmax = b.iter().fold(0.0f64, |x, y| x.max(y.abs()));
            let mut involved: Vec<usize> = kept
                .iter()
                .zip(&b)
                .filter(|(_, bk)| bk.abs() > 1e-6 * bmax)
                .map(|(&c, _)| c)
                .collect();
            involved.push(j);
            let describe = |c: usize| {
                let col = &design.columns[c];
                format!(
                    "'{}' ({})",
                    col.name,
                    column_pointer(spec, &col.name, col.role, col.channel)
                )
            };
            let col = &design.columns[j];
            return Some(SpecIssue {
                pointer: column_pointer(spec, &col.name, col.role, col.channel),
                message: format!(
                    "the design is singular over the data's {n} periods: column {} is a linear \
                     combination of {} (1 − R² = {rr:.1e}); remove or change one of them",
                    describe(j),
                    involved[..involved.len() - 1]
                        .iter()
                        .map(|&c| describe(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let nv = rr.sqrt();
        for a in v.iter_mut() {
            *a /= nv;
        }
        coef.push(nv);
        r.push(coef);
        q.push(v);
        kept.push(j);
    }
    None
}

/// The split and every fold must leave more training periods than the model has columns.
fn validation_issues(
    v: &mmm_core::validation::ValidationSpec,
    n: usize,
    n_cols: usize,
) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    if n < 3 {
        issues.push(SpecIssue {
            pointer: "/validation".into(),
            message: format!("a train/test split needs at least 3 periods; the data has {n}"),
        });
        return issues;
    }
    let (n_train, folds) = v.windows(n);
    if n_train <= n_cols {
        issues.push(SpecIssue {
            pointer: "/validation/test_fraction".into(),
            message: format!(
                "test_fraction = {} holds out {} of the {n} periods and leaves {n_train} to fit \
                 {n_cols} columns; more training periods than columns are needed (at most \
                 test_fraction = {:.3})",
                v.test_fraction,
                n - n_train,
                (n.saturating_sub(n_cols + 1)) as f64 / n as f64
            ),
        });
    } else if let Some(&(tr, _)) = folds.iter().find(|(tr, _)| *tr <= n_cols) {
        issues.push(SpecIssue {
            pointer: "/validation/folds".into(),
            message: format!(
                "{} folds over the last {} periods leave the first fold {tr} periods to fit \
                 {n_cols} columns; use fewer folds or a smaller test_fraction",
                v.folds.unwrap_or(0),
                n - n_train
            ),
        });
    }
    issues
}
