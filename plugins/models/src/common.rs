//! Shared numerics of the model plugins (not a plugin): input checks, centering, the
//! non-negativity mask, Cholesky solves, an exact active-set solver for quadratic programs with
//! non-negativity bounds, and diagnostics of collinear columns.

use mmm_core::model::{Design, Role};
use mmm_core::{MmmError, Result};
use nalgebra::{DMatrix, DVector};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which coefficients a model keeps non-negative (the intercept is never constrained).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Positivity {
    /// No constraint.
    None,
    /// Media coefficients (`Role::Media`) are kept ≥ 0, as Robyn does with glmnet's lower limits.
    #[default]
    Media,
    /// Every coefficient except the intercept is kept ≥ 0 (sklearn's `positive=True`).
    All,
}

impl Positivity {
    /// Whether a column of this role is constrained to be non-negative.
    pub fn constrains(self, role: Role) -> bool {
        match self {
            Positivity::None => false,
            Positivity::Media => role == Role::Media,
            Positivity::All => role != Role::Intercept,
        }
    }
}

/// Checks that the design and the target agree in size and hold finite numbers only.
pub fn check_problem(design: &Design, y: &[f64], model: &str) -> Result<()> {
    let (n, p) = (design.n_obs(), design.n_cols());
    if design.columns.len() != p {
        return Err(MmmError::Compute(format!(
            "{model}: the design names {} columns but its matrix has {p}",
            design.columns.len()
        )));
    }
    if y.len() != n {
        return Err(MmmError::Compute(format!(
            "{model}: the target has {} values but the design has {n} rows",
            y.len()
        )));
    }
    if n == 0 || p == 0 {
        return Err(MmmError::Compute(format!(
            "{model}: empty design ({n} rows × {p} columns)"
        )));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(MmmError::Compute(format!(
            "{model}: target value {i} is not finite"
        )));
    }
    // fast path: finite values sum to a finite number (an overflow only takes the slow path)
    if sum(design.x.as_slice()).is_finite() {
        return Ok(());
    }
    for (j, c) in design.columns.iter().enumerate() {
        if let Some(i) = design.x.column(j).iter().position(|v| !v.is_finite()) {
            return Err(MmmError::Compute(format!(
                "{model}: column '{}' has a non-finite value in row {i}",
                c.name
            )));
        }
    }
    Ok(())
}

/// Sum with four accumulators (vectorizes without fast-math).
#[inline]
pub fn sum(a: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let c = a.chunks_exact(4);
    let r = c.remainder();
    for x in c {
        s[0] += x[0];
        s[1] += x[1];
        s[2] += x[2];
        s[3] += x[3];
    }
    let mut t = (s[0] + s[2]) + (s[1] + s[3]);
    for x in r {
        t += x;
    }
    t
}

/// Dot product with four accumulators (vectorizes without fast-math).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [0.0f64; 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        s[0] += x[0] * y[0];
        s[1] += x[1] * y[1];
        s[2] += x[2] * y[2];
        s[3] += x[3] * y[3];
    }
    let mut t = (s[0] + s[2]) + (s[1] + s[3]);
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

/// `X'X` of a column-major matrix (symmetric, computed on one triangle; AVX2 when the CPU has
/// it).
pub fn gram(x: &DMatrix<f64>) -> DMatrix<f64> {
    let (n, p) = x.shape();
    let mut g = vec![0.0; p * p];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `gram_avx2` is only compiled for AVX2, which the CPU was just found to have.
            unsafe { gram_avx2(x.as_slice(), n, p, &mut g) };
            return DMatrix::from_vec(p, p, g);
        }
    }
    gram_kernel(x.as_slice(), n, p, &mut g);
    DMatrix::from_vec(p, p, g)
}

/// [`gram_kernel`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gram_avx2(xs: &[f64], n: usize, p: usize, g: &mut [f64]) {
    gram_kernel(xs, n, p, g)
}

/// `g = X'X` (column-major `p × p`) of the column-major `n × p` data `xs`, one column against
/// four at a time with four lanes each (vectorizes without fast-math).
#[inline(always)]
fn gram_kernel(xs: &[f64], n: usize, p: usize, g: &mut [f64]) {
    let col = |j: usize| &xs[j * n..(j + 1) * n];
    let n4 = n - n % 4;
    for j in 0..p {
        let cj = col(j);
        let mut k = j;
        while k + 4 <= p {
            let (c0, c1, c2, c3) = (col(k), col(k + 1), col(k + 2), col(k + 3));
            let mut acc = [[0.0f64; 4]; 4];
            let mut i = 0;
            while i < n4 {
                let a = &cj[i..i + 4];
                let (b0, b1, b2, b3) = (&c0[i..i + 4], &c1[i..i + 4], &c2[i..i + 4], &c3[i..i + 4]);
                for l in 0..4 {
                    acc[0][l] += a[l] * b0[l];
                    acc[1][l] += a[l] * b1[l];
                    acc[2][l] += a[l] * b2[l];
                    acc[3][l] += a[l] * b3[l];
                }
                i += 4;
            }
            let cs = [c0, c1, c2, c3];
            for (m, (ac, cm)) in acc.iter().zip(cs).enumerate() {
                let mut v = (ac[0] + ac[2]) + (ac[1] + ac[3]);
                for r in n4..n {
                    v += cj[r] * cm[r];
                }
                g[j * p + k + m] = v;
                g[(k + m) * p + j] = v;
            }
            k += 4;
        }
        while k < p {
            let v = dot(cj, col(k));
            g[j * p + k] = v;
            g[k * p + j] = v;
            k += 1;
        }
    }
}

/// `X'v` of a column-major matrix.
pub fn xt_vec(x: &DMatrix<f64>, v: &[f64]) -> DVector<f64> {
    DVector::from_iterator(
        x.ncols(),
        (0..x.ncols()).map(|j| dot(x.column(j).as_slice(), v)),
    )
}

/// `X·b` as a vector.
pub fn x_mul(x: &DMatrix<f64>, b: &[f64]) -> Vec<f64> {
    let n = x.nrows();
    let xs = x.as_slice();
    let mut out = vec![0.0; n];
    for (j, bj) in b.iter().enumerate() {
        if *bj != 0.0 {
            for (o, xi) in out.iter_mut().zip(&xs[j * n..(j + 1) * n]) {
                *o += bj * xi;
            }
        }
    }
    out
}

/// The columns that take part in a penalized fit (all but the intercept), centered on their means
/// when the design has an intercept, as sklearn's `fit_intercept=True` does.
pub struct Centered {
    /// Index of the intercept column in the design, if any.
    pub intercept: Option<usize>,
    /// Design indices of the penalized columns, in order.
    pub cols: Vec<usize>,
    /// Means of the penalized columns (zeros without an intercept).
    pub x_mean: Vec<f64>,
    /// Mean of the target (zero without an intercept).
    pub y_mean: f64,
    /// Penalized columns, centered (`n × cols.len()`).
    pub x: DMatrix<f64>,
    /// Target, centered.
    pub y: Vec<f64>,
}

impl Centered {
    /// Centers the design's non-intercept columns and the target.
    pub fn new(design: &Design, y: &[f64]) -> Self {
        let intercept = design.intercept();
        let n = design.n_obs();
        let nf = n as f64;
        let cols: Vec<usize> = (0..design.n_cols())
            .filter(|j| Some(*j) != intercept)
            .collect();
        let xs = design.x.as_slice();
        let mut data = Vec::with_capacity(n * cols.len());
        let mut x_mean = Vec::with_capacity(cols.len());
        for &j in &cols {
            let src = &xs[j * n..(j + 1) * n];
            let m = if intercept.is_some() {
                sum(src) / nf
            } else {
                0.0
            };
            x_mean.push(m);
            data.extend(src.iter().map(|v| v - m));
        }
        let x = DMatrix::from_vec(n, cols.len(), data);
        let y_mean = if intercept.is_some() {
            sum(y) / nf
        } else {
            0.0
        };
        let y = y.iter().map(|v| v - y_mean).collect();
        Centered {
            intercept,
            cols,
            x_mean,
            y_mean,
            x,
            y,
        }
    }

    /// Coefficients of the full design from those of the penalized columns (the intercept, if
    /// any, is `ȳ − x̄·b`).
    pub fn full_beta(&self, p: usize, b: &[f64]) -> Vec<f64> {
        let mut beta = vec![0.0; p];
        for (k, &j) in self.cols.iter().enumerate() {
            beta[j] = b[k];
        }
        if let Some(i) = self.intercept {
            beta[i] = self.y_mean - dot(&self.x_mean, b);
        }
        beta
    }
}

/// Coefficient of determination of `yhat` (centered total sum of squares).
pub fn r_squared(y: &[f64], yhat: &[f64]) -> f64 {
    let n = y.len() as f64;
    let m = sum(y) / n;
    let r: Vec<f64> = y.iter().zip(yhat).map(|(a, b)| a - b).collect();
    let d: Vec<f64> = y.iter().map(|a| a - m).collect();
    1.0 - dot(&r, &r) / dot(&d, &d)
}

/// Names the columns involved in a (near) linear dependency of `x`, found from the right
/// singular vector of the smallest singular value of the column-normalized matrix.
pub fn collinear_columns(design: &Design, cols: &[usize]) -> String {
    let n = design.n_obs();
    let mut x = DMatrix::zeros(n, cols.len());
    for (k, &j) in cols.iter().enumerate() {
        let c = design.x.column(j);
        let norm = c.norm();
        let s = if norm > 0.0 { 1.0 / norm } else { 1.0 };
        for (d, v) in x.column_mut(k).iter_mut().zip(c.iter()) {
            *d = v * s;
        }
    }
    // zero columns are the simplest dependency
    let zero: Vec<&str> = cols
        .iter()
        .filter(|&&j| design.x.column(j).iter().all(|v| *v == 0.0))
        .map(|&j| design.columns[j].name.as_str())
        .collect();
    if !zero.is_empty() {
        return format!("all-zero column(s): {}", quoted(&zero));
    }
    let gram = x.tr_mul(&x);
    let eig = nalgebra::SymmetricEigen::new(gram);
    let (mut imin, mut vmin) = (0, f64::INFINITY);
    for (i, v) in eig.eigenvalues.iter().enumerate() {
        if *v < vmin {
            vmin = *v;
            imin = i;
        }
    }
    let v = eig.eigenvectors.column(imin);
    let vmax = v.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    let names: Vec<&str> = cols
        .iter()
        .enumerate()
        .filter(|(k, _)| v[*k].abs() > 1e-3 * vmax)
        .map(|(_, &j)| design.columns[j].name.as_str())
        .collect();
    format!("linearly dependent columns: {}", quoted(&names))
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Cholesky factor of a symmetric matrix, `None` when it is not positive definite or numerically
/// singular (a pivot below `1e-12` of its diagonal entry, i.e. a column explained by the
/// previous ones up to `1 − R² < 1e-12`).
pub fn cholesky(h: &DMatrix<f64>) -> Option<nalgebra::Cholesky<f64, nalgebra::Dyn>> {
    let ch = h.clone().cholesky()?;
    let l = ch.l_dirty();
    for k in 0..h.nrows() {
        let pivot = l[(k, k)] * l[(k, k)];
        if pivot.is_nan() || pivot <= 1e-12 * h[(k, k)] {
            return None;
        }
    }
    Some(ch)
}

/// Solves `min ½ b'Hb − g'b` subject to `b_j ≥ 0` where `mask[j]`, for positive definite `H`,
/// exactly (a primal active-set method in the manner of Lawson–Hanson's NNLS; each step solves
/// the free subsystem by Cholesky). Returns `None` if a free subsystem is not positive definite.
pub fn nonneg_qp(h: &DMatrix<f64>, g: &DVector<f64>, mask: &[bool]) -> Option<DVector<f64>> {
    let p = g.len();
    // unconstrained solution first: often feasible
    let full = cholesky(h)?.solve(g);
    if (0..p).all(|j| !mask[j] || full[j] >= 0.0) {
        return Some(full);
    }
    let gscale = g.amax().max(h.diagonal().amax()).max(f64::MIN_POSITIVE);
    let tol = 1e-12 * gscale;
    // start: constrained variables at zero (feasible), free = unconstrained ones
    let mut free: Vec<bool> = mask.iter().map(|m| !m).collect();
    let mut x = DVector::zeros(p);
    let solve_free = |free: &[bool]| -> Option<DVector<f64>> {
        let idx: Vec<usize> = (0..p).filter(|j| free[*j]).collect();
        let mut z = DVector::zeros(p);
        if idx.is_empty() {
            return Some(z);
        }
        let hs = DMatrix::from_fn(idx.len(), idx.len(), |a, b| h[(idx[a], idx[b])]);
        let gs = DVector::from_fn(idx.len(), |a, _| g[idx[a]]);
        let zs = cholesky(&hs)?.solve(&gs);
        for (a, &j) in idx.iter().enumerate() {
            z[j] = zs[a];
        }
        Some(z)
    };
    x = if free.iter().any(|f| *f) {
        solve_free(&free)?
    } else {
        x
    };
    for _outer in 0..(3 * p + 10) {
        // negative gradient at x
        let w = g - h * &x;
        let mut best = None;
        let mut bw = tol;
        for j in 0..p {
            if !free[j] && w[j] > bw {
                bw = w[j];
                best = Some(j);
            }
        }
        let Some(j) = best else {
            return Some(x);
        };
        free[j] = true;
        for _inner in 0..(3 * p + 10) {
            let z = solve_free(&free)?;
            let bad: Vec<usize> = (0..p)
                .filter(|&k| free[k] && mask[k] && z[k] <= 0.0)
                .collect();
            if bad.is_empty() {
                x = z;
                break;
            }
            let mut step = 1.0f64;
            for &k in &bad {
                let d = x[k] - z[k];
                if d > 0.0 {
                    step = step.min(x[k] / d);
                }
            }
            x += (z - &x) * step;
            for k in 0..p {
                if free[k] && mask[k] && x[k] <= tol * 1e-3 {
                    free[k] = false;
                    x[k] = 0.0;
                }
            }
        }
    }
    Some(x)
}

/// `true`: the serde default of the penalized models' `standardize`.
pub fn default_true() -> bool {
    true
}

/// Divides every column of `x` by its population standard deviation (columns with zero spread
/// are left as they are) and returns the divisors, as sklearn's `StandardScaler` does before a
/// penalized fit; a coefficient `b̃_j` fitted on the scaled column is `b̃_j / sd_j` on the original
/// scale.
pub fn standardize_columns(x: &mut DMatrix<f64>) -> Vec<f64> {
    let n = x.nrows() as f64;
    let mut scale = vec![1.0; x.ncols()];
    for (k, s) in scale.iter_mut().enumerate() {
        let col = x.column(k);
        let m = col.sum() / n; // zero when centered
        let sd = (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
        if sd > 0.0 {
            *s = sd;
            for v in x.column_mut(k).iter_mut() {
                *v /= sd;
            }
        }
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonneg_qp_matches_kkt() {
        // H = A'A + I for a fixed A; g chosen so that the unconstrained solution has negatives
        let a = DMatrix::from_fn(6, 4, |i, j| {
            ((i * 7 + j * 3) % 5) as f64 - 1.5 + 0.1 * j as f64
        });
        let h = a.tr_mul(&a) + DMatrix::identity(4, 4);
        let g = DVector::from_vec(vec![1.0, -2.0, 0.5, -0.3]);
        let mask = [true, true, false, true];
        let x = nonneg_qp(&h, &g, &mask).unwrap();
        let w = &g - &h * &x;
        for j in 0..4 {
            if mask[j] {
                assert!(x[j] >= 0.0);
                if x[j] > 0.0 {
                    assert!(w[j].abs() < 1e-10, "{w}");
                } else {
                    assert!(w[j] <= 1e-10, "{w}");
                }
            } else {
                assert!(w[j].abs() < 1e-10);
            }
        }
    }

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f64> = (0..11).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..11).map(|i| 3.0 - i as f64).collect();
        let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-12);
    }
}
