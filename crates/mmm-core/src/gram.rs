//! Allocation-free least squares from sufficient statistics, for the tuning fast path.
//!
//! A penalized least-squares fit on centered columns needs only `H = X̃'X̃` (k × k) and
//! `g = X̃'ỹ`; the solvers here work in preallocated buffers so that millions of fits allocate
//! nothing.
//!
//! # Formula
//! ```text
//! minimize ½·b'Hb − g'b   subject to b_j ≥ 0 for j in the mask
//! unconstrained:  H b = g  (Cholesky)
//! constrained:    active-set (Lawson–Hanson): free set F, solve H_FF b_F = g_F, add the bound
//!                 variable with the largest negative gradient w = g − Hb, step back to keep b ≥ 0
//! ```

use crate::model::Role;

/// The normal equations of a fit on centered, non-intercept columns.
#[derive(Debug)]
pub struct GramSystem<'a> {
    /// `X̃'X̃`, column-major `k × k` (models may add a penalty to the diagonal in place).
    pub h: &'a mut [f64],
    /// `X̃'ỹ`.
    pub g: &'a mut [f64],
    /// Number of columns.
    pub k: usize,
    /// Number of observations.
    pub n: usize,
    /// Role of every column.
    pub roles: &'a [Role],
}

/// Reusable buffers for [`solve_subset`] and [`nonneg_quadratic`].
#[derive(Debug, Clone, Default)]
pub struct GramWorkspace {
    a: Vec<f64>,
    b: Vec<f64>,
    z: Vec<f64>,
    w: Vec<f64>,
    free: Vec<bool>,
    idx: Vec<usize>,
}

impl GramWorkspace {
    /// Buffers for systems of up to `k` columns.
    pub fn new(k: usize) -> Self {
        GramWorkspace {
            a: vec![0.0; k * k],
            b: vec![0.0; k],
            z: vec![0.0; k],
            w: vec![0.0; k],
            free: vec![false; k],
            idx: vec![0; k],
        }
    }
    fn ensure(&mut self, k: usize) {
        if self.b.len() < k {
            *self = GramWorkspace::new(k);
        }
    }
}

/// Solves `H_FF z_F = g_F` for the columns `idx` by Cholesky in `ws`; `z` is zero elsewhere.
/// Returns `false` when `H_FF` is not positive definite.
fn solve_idx(
    h: &[f64],
    g: &[f64],
    k: usize,
    idx: &[usize],
    z: &mut [f64],
    a: &mut [f64],
    b: &mut [f64],
) -> bool {
    let m = idx.len();
    z[..k].iter_mut().for_each(|v| *v = 0.0);
    for (r, &i) in idx.iter().enumerate() {
        for (c, &j) in idx.iter().enumerate() {
            a[r + c * m] = h[i + j * k];
        }
        b[r] = g[i];
    }
    // Cholesky: a = L L' (lower, in place)
    for j in 0..m {
        let mut d = a[j + j * m];
        for p in 0..j {
            d -= a[j + p * m] * a[j + p * m];
        }
        if d <= 1e-300 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j + j * m] = d;
        for i in j + 1..m {
            let mut s = a[i + j * m];
            for p in 0..j {
                s -= a[i + p * m] * a[j + p * m];
            }
            a[i + j * m] = s / d;
        }
    }
    for i in 0..m {
        let mut s = b[i];
        for p in 0..i {
            s -= a[i + p * m] * b[p];
        }
        b[i] = s / a[i + i * m];
    }
    for i in (0..m).rev() {
        let mut s = b[i];
        for p in i + 1..m {
            s -= a[p + i * m] * b[p];
        }
        b[i] = s / a[i + i * m];
    }
    for (r, &i) in idx.iter().enumerate() {
        z[i] = b[r];
    }
    true
}

/// Solves `H b = g` (all columns free). Returns `false` when `H` is not positive definite.
pub fn solve(h: &[f64], g: &[f64], k: usize, x: &mut [f64], ws: &mut GramWorkspace) -> bool {
    ws.ensure(k);
    for i in 0..k {
        ws.idx[i] = i;
    }
    let GramWorkspace { a, b, idx, .. } = ws;
    solve_idx(h, g, k, &idx[..k], x, a, b)
}

/// Minimizes `½·b'Hb − g'b` with `b_j ≥ 0` where `mask[j]`, exactly (active set), into `x`.
/// Returns `false` when a free sub-system is not positive definite.
pub fn nonneg_quadratic(
    h: &[f64],
    g: &[f64],
    k: usize,
    mask: &[bool],
    x: &mut [f64],
    ws: &mut GramWorkspace,
) -> bool {
    ws.ensure(k);
    if !solve(h, g, k, x, ws) {
        return false;
    }
    if (0..k).all(|j| !mask[j] || x[j] >= 0.0) {
        return true;
    }
    let GramWorkspace {
        a,
        b,
        z,
        w,
        free,
        idx,
    } = ws;
    let scale = (0..k).fold(f64::MIN_POSITIVE, |m, j| {
        m.max(g[j].abs()).max(h[j + j * k].abs())
    });
    let tol = 1e-12 * scale;
    for j in 0..k {
        free[j] = !mask[j];
        x[j] = 0.0;
    }
    let collect = |free: &[bool], idx: &mut [usize]| -> usize {
        let mut m = 0;
        for j in 0..k {
            if free[j] {
                idx[m] = j;
                m += 1;
            }
        }
        m
    };
    let m = collect(free, idx);
    if m > 0 && !solve_idx(h, g, k, &idx[..m], x, a, b) {
        return false;
    }
    for _ in 0..(3 * k + 10) {
        for i in 0..k {
            let mut s = g[i];
            for j in 0..k {
                s -= h[i + j * k] * x[j];
            }
            w[i] = s;
        }
        let mut best = None;
        let mut bw = tol;
        for j in 0..k {
            if !free[j] && w[j] > bw {
                bw = w[j];
                best = Some(j);
            }
        }
        let Some(j) = best else { return true };
        free[j] = true;
        for _ in 0..(3 * k + 10) {
            let m = collect(free, idx);
            if !solve_idx(h, g, k, &idx[..m], z, a, b) {
                return false;
            }
            let feasible = (0..k).all(|q| !(free[q] && mask[q] && z[q] <= 0.0));
            if feasible {
                x[..k].copy_from_slice(&z[..k]);
                break;
            }
            let mut step = 1.0f64;
            for q in 0..k {
                if free[q] && mask[q] && z[q] <= 0.0 {
                    let d = x[q] - z[q];
                    if d > 0.0 {
                        step = step.min(x[q] / d);
                    }
                }
            }
            for q in 0..k {
                x[q] += step * (z[q] - x[q]);
                if free[q] && mask[q] && x[q] <= tol.max(0.0) {
                    free[q] = false;
                    x[q] = 0.0;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonneg_solution_satisfies_kkt() {
        // H = A'A + I, g with a negative unconstrained component
        let a = [
            [1.0, 0.5, -0.3],
            [0.2, 1.0, 0.7],
            [-0.4, 0.3, 1.0],
            [0.9, -0.2, 0.1],
        ];
        let k = 3;
        let mut h = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                h[i + j * 3] =
                    a.iter().map(|r| r[i] * r[j]).sum::<f64>() + if i == j { 1.0 } else { 0.0 };
            }
        }
        let g = [1.0, -2.0, 0.5];
        let mut x = [0.0; 3];
        let mut ws = GramWorkspace::new(k);
        assert!(nonneg_quadratic(
            &h,
            &g,
            k,
            &[true, true, true],
            &mut x,
            &mut ws
        ));
        for i in 0..3 {
            let w: f64 = g[i] - (0..3).map(|j| h[i + j * 3] * x[j]).sum::<f64>();
            assert!(x[i] >= 0.0);
            if x[i] > 0.0 {
                assert!(w.abs() < 1e-12);
            } else {
                assert!(w <= 1e-12);
            }
        }
        assert_eq!(x[1], 0.0);
    }
}
