//! The allocation solver shared by the optimizers:
//! maximize `Σ_i r_i(s_i)` subject to `Σ_i s_i = B` and `lo_i ≤ s_i ≤ hi_i`.
//!
//! # Method
//! The KKT conditions say that at the optimum every channel strictly inside its bounds has the
//! same marginal return `λ`, channels at their minimum have marginal ≤ `λ` and channels at their
//! maximum have marginal ≥ `λ`.
//!
//! - **Concave curves** (marginal non-increasing on `[lo_i, hi_i]`, checked on a grid): the
//!   conditions are sufficient. [`solve`] bisects on `λ`; for each `λ` every channel's spend is
//!   the root of `marginal_i(s) = λ` in its bounds (safeguarded secant, warm brackets), and the
//!   sum of spends is non-increasing in `λ`. The final allocation interpolates the two brackets
//!   so that it sums to the budget exactly (this also handles flat, linear stretches).
//! - **S-shaped curves** (marginal rises then falls): the conditions are not sufficient, and a
//!   channel may be best left at its minimum although its marginal there is low. The solver runs
//!   a dynamic programme over a grid of the budget left above the minimums (the exact optimum on
//!   that grid), then refines each of several deterministic starts (the grid optimum, the
//!   current allocation, equal spends, spends proportional to room) by alternating (a) an exact
//!   concave solve over the channels that sit on the concave side of their curve, the others held,
//!   and (b) pairwise exchanges between the channel with the highest and the one with the
//!   lowest marginal, each an exact 1-D search, until no pair gains. The best end point wins.
//!
//! Everything is deterministic.

use mmm_core::optimizer::ResponseCurves;

/// Which path [`solve`] took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Equal marginal returns (bisection on the Lagrange multiplier), exact for concave curves.
    EqualMarginal,
    /// Grid dynamic programme plus multi-start local refinement, for S-shaped curves.
    Global,
}

impl Method {
    /// The name reported in `details.method`.
    pub fn name(self) -> &'static str {
        match self {
            Method::EqualMarginal => "equal_marginal",
            Method::Global => "global",
        }
    }
}

/// An optimal allocation.
#[derive(Debug, Clone)]
pub struct Solution {
    /// Spend per period of each channel.
    pub spend: Vec<f64>,
    /// `Σ_i response(i, spend_i)`.
    pub objective: f64,
    /// The path taken.
    pub method: Method,
}

/// `Σ_i response(i, s_i)`.
pub fn objective(curves: &dyn ResponseCurves, s: &[f64]) -> f64 {
    s.iter()
        .enumerate()
        .map(|(i, &x)| curves.response(i, x))
        .sum()
}

/// Relative points in [0, 1] used to probe a channel's curve: uniform plus dense near 0.
fn probe_points() -> Vec<f64> {
    let mut u: Vec<f64> = (0..=64).map(|k| k as f64 / 64.0).collect();
    u.extend((7..=40).map(|j| 0.5f64.powi(j)));
    u.sort_by(f64::total_cmp);
    u
}

/// Whether channel `i`'s marginal is non-increasing on `[lo, hi]` (checked on a grid).
pub fn is_concave_on(curves: &dyn ResponseCurves, i: usize, lo: f64, hi: f64) -> bool {
    if hi <= lo {
        return true;
    }
    let mut prev = f64::INFINITY;
    for u in probe_points() {
        let m = curves.marginal(i, lo + u * (hi - lo));
        if m.is_nan() {
            return false;
        }
        if m > prev + 1e-12 * prev.abs().max(m.abs()) + f64::MIN_POSITIVE {
            return false;
        }
        prev = m;
    }
    true
}

/// Maximizes `Σ response` with `Σ s = budget` and `lo ≤ s ≤ hi` (needs `Σ lo ≤ budget ≤ Σ hi`).
pub fn solve(curves: &dyn ResponseCurves, lo: &[f64], hi: &[f64], budget: f64) -> Solution {
    let n = lo.len();
    let concave = (0..n).all(|i| is_concave_on(curves, i, lo[i], hi[i]));
    let (spend, method) = if concave {
        (
            solve_concave(curves, &(0..n).collect::<Vec<_>>(), lo, hi, budget),
            Method::EqualMarginal,
        )
    } else {
        (solve_global(curves, lo, hi, budget), Method::Global)
    };
    let objective = objective(curves, &spend);
    Solution {
        spend,
        objective,
        method,
    }
}

/// Root of a non-increasing `g` on `[a, b]` with `g(a) > 0 > g(b)` (values may be infinite at
/// the ends): safeguarded regula falsi (Illinois), falling back to bisection.
fn root_decreasing(
    g: impl Fn(f64) -> f64,
    mut a: f64,
    mut ga: f64,
    mut b: f64,
    mut gb: f64,
) -> f64 {
    let tol = 1e-14 * (a.abs() + b.abs()) + 1e-300;
    let mut side = 0i8;
    let mut width = b - a;
    for it in 0..200 {
        if b - a <= tol {
            break;
        }
        let secant_ok = ga.is_finite() && gb.is_finite() && it % 4 != 3;
        let mut x = if secant_ok {
            (a * gb - b * ga) / (gb - ga)
        } else {
            0.5 * (a + b)
        };
        if !(x > a && x < b) {
            x = 0.5 * (a + b);
        }
        let gx = g(x);
        if gx == 0.0 {
            return x;
        }
        if gx > 0.0 {
            a = x;
            ga = gx;
            if side == 1 {
                gb *= 0.5;
            }
            side = 1;
        } else {
            b = x;
            gb = gx;
            if side == -1 {
                ga *= 0.5;
            }
            side = -1;
        }
        // force a bisection when the bracket shrinks slowly
        if it % 4 == 3 {
            if b - a > 0.5 * width {
                let m = 0.5 * (a + b);
                let gm = g(m);
                if gm > 0.0 {
                    a = m;
                    ga = gm;
                } else {
                    b = m;
                    gb = gm;
                }
            }
            width = b - a;
        }
    }
    0.5 * (a + b)
}

/// Equal-marginal solve over the channels `idx` (each concave on its interval) with budget
/// `budget`; returns a full-length vector with `lo` for channels not in `idx`.
pub fn solve_concave(
    curves: &dyn ResponseCurves,
    idx: &[usize],
    lo: &[f64],
    hi: &[f64],
    budget: f64,
) -> Vec<f64> {
    let mut out = lo.to_vec();
    let k = idx.len();
    if k == 0 {
        return out;
    }
    let sum_lo: f64 = idx.iter().map(|&i| lo[i]).sum();
    let sum_hi: f64 = idx.iter().map(|&i| hi[i]).sum();
    if budget <= sum_lo {
        return out;
    }
    if budget >= sum_hi {
        for &i in idx {
            out[i] = hi[i];
        }
        return out;
    }
    // brackets: a = spends at a small λ (sum ≥ B), b = spends at a large λ (sum ≤ B)
    let mut sa: Vec<f64> = idx.iter().map(|&i| hi[i]).collect();
    let mut ma: Vec<f64> = idx.iter().map(|&i| curves.marginal(i, hi[i])).collect();
    let mut sb: Vec<f64> = idx.iter().map(|&i| lo[i]).collect();
    let mut mb: Vec<f64> = idx.iter().map(|&i| curves.marginal(i, lo[i])).collect();
    let mut lam_a = ma.iter().copied().fold(f64::INFINITY, f64::min);
    let mut lam_b = mb
        .iter()
        .copied()
        .filter(|m| m.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let spend_at =
        |j: usize, lam: f64, sa: &[f64], ma: &[f64], sb: &[f64], mb: &[f64]| -> (f64, f64) {
            let i = idx[j];
            if mb[j] <= lam {
                return (sb[j], mb[j]);
            }
            if ma[j] >= lam {
                return (sa[j], ma[j]);
            }
            let x = root_decreasing(
                |s| curves.marginal(i, s) - lam,
                sb[j],
                mb[j] - lam,
                sa[j],
                ma[j] - lam,
            );
            (x, curves.marginal(i, x))
        };
    let mut cur = vec![(0.0, 0.0); k];
    let eval =
        |lam: f64, sa: &[f64], ma: &[f64], sb: &[f64], mb: &[f64], cur: &mut [(f64, f64)]| {
            let mut s = 0.0;
            for (j, c) in cur.iter_mut().enumerate() {
                *c = spend_at(j, lam, sa, ma, sb, mb);
                s += c.0;
            }
            s
        };
    // the spends at lam_b may still exceed the budget when some marginal is infinite at lo
    if !lam_b.is_finite() {
        lam_b = 1.0;
    }
    let mut sum_b = sum_lo;
    if mb.iter().any(|m| !m.is_finite()) || lam_b < lam_a {
        lam_b = lam_b.max(lam_a).max(1e-300);
        for _ in 0..2100 {
            let s = eval(lam_b, &sa, &ma, &sb, &mb, &mut cur);
            if s <= budget {
                sum_b = s;
                for (j, c) in cur.iter().enumerate() {
                    sb[j] = c.0;
                    mb[j] = c.1;
                }
                break;
            }
            lam_b *= 2.0;
        }
    }
    if !lam_a.is_finite() || lam_a > lam_b {
        lam_a = lam_b;
    }
    let mut sum_a = sum_hi;
    let tol = 1e-13 * budget.abs().max(1e-300);
    // Illinois regula falsi on g(λ) = Σ s_i(λ) − B (non-increasing), with a bisection step
    // (geometric when the bracket spans decades) whenever the bracket stops halving
    let (mut wa, mut wb) = (sum_a - budget, sum_b - budget);
    let mut side = 0i8;
    let mut width = lam_b - lam_a;
    for it in 0..300 {
        if sum_a - sum_b <= tol {
            break;
        }
        let bisect = || {
            if lam_a > 0.0 && lam_b > 4.0 * lam_a {
                (lam_a * lam_b).sqrt()
            } else {
                0.5 * (lam_a + lam_b)
            }
        };
        let forced = it % 3 == 2 && lam_b - lam_a > 0.5 * width;
        if it % 3 == 2 {
            width = lam_b - lam_a;
        }
        let mut lam = if forced || !(wa - wb).is_finite() || wa <= wb {
            bisect()
        } else {
            lam_a + (lam_b - lam_a) * wa / (wa - wb)
        };
        if !(lam > lam_a && lam < lam_b) {
            lam = bisect();
        }
        if !(lam > lam_a && lam < lam_b) {
            break;
        }
        let s = eval(lam, &sa, &ma, &sb, &mb, &mut cur);
        if s >= budget {
            wa = s - budget;
            if side == 1 {
                wb *= 0.5;
            }
            side = 1;
        } else {
            wb = s - budget;
            if side == -1 {
                wa *= 0.5;
            }
            side = -1;
        }
        if s >= budget {
            lam_a = lam;
            sum_a = s;
            for (j, c) in cur.iter().enumerate() {
                sa[j] = c.0;
                ma[j] = c.1;
            }
        } else {
            lam_b = lam;
            sum_b = s;
            for (j, c) in cur.iter().enumerate() {
                sb[j] = c.0;
                mb[j] = c.1;
            }
        }
        if s == budget {
            sum_b = s;
            sb.copy_from_slice(&sa);
            break;
        }
    }
    let t = if sum_a > sum_b {
        ((budget - sum_b) / (sum_a - sum_b)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    for (j, &i) in idx.iter().enumerate() {
        out[i] = (sb[j] + t * (sa[j] - sb[j])).clamp(lo[i], hi[i]);
    }
    out
}

/// Projects `x` onto `{Σ s = budget, lo ≤ s ≤ hi}` by a common shift (bisection).
pub fn project(x: &[f64], lo: &[f64], hi: &[f64], budget: f64) -> Vec<f64> {
    let shifted = |tau: f64| -> f64 {
        x.iter()
            .zip(lo.iter().zip(hi))
            .map(|(&v, (&l, &h))| (v + tau).clamp(l, h))
            .sum()
    };
    let span = hi.iter().zip(lo).map(|(h, l)| h - l).sum::<f64>() + budget.abs() + 1.0;
    let (mut a, mut b) = (
        -span - x.iter().map(|v| v.abs()).sum::<f64>(),
        span + x.iter().map(|v| v.abs()).sum::<f64>(),
    );
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if shifted(m) < budget {
            a = m;
        } else {
            b = m;
        }
        if b - a <= 1e-15 * span {
            break;
        }
    }
    let tau = 0.5 * (a + b);
    let mut s: Vec<f64> = x
        .iter()
        .zip(lo.iter().zip(hi))
        .map(|(&v, (&l, &h))| (v + tau).clamp(l, h))
        .collect();
    fix_sum(&mut s, lo, hi, budget);
    s
}

/// Puts the rounding residual of `Σ s − budget` on the channels with room.
fn fix_sum(s: &mut [f64], lo: &[f64], hi: &[f64], budget: f64) {
    let r = budget - s.iter().sum::<f64>();
    if r == 0.0 {
        return;
    }
    let mut left = r;
    for i in 0..s.len() {
        let room = if left > 0.0 {
            hi[i] - s[i]
        } else {
            lo[i] - s[i]
        };
        let step = if left > 0.0 {
            left.min(room)
        } else {
            left.max(room)
        };
        s[i] += step;
        left -= step;
        if left == 0.0 {
            break;
        }
    }
}

/// Grid size of the dynamic programme for `n` channels (about 2·10⁶ operations).
fn grid_size(n: usize) -> usize {
    ((2.0e6 / n.max(1) as f64).sqrt() as usize).clamp(100, 1000)
}

/// Exact optimum on the grid `s_i = lo_i + m_i·δ`, `δ = (B − Σ lo)/G`, by dynamic programming;
/// the result is projected back onto the budget.
fn dp_start(curves: &dyn ResponseCurves, lo: &[f64], hi: &[f64], budget: f64) -> Vec<f64> {
    let n = lo.len();
    let rest = budget - lo.iter().sum::<f64>();
    if rest <= 0.0 || n == 0 {
        return lo.to_vec();
    }
    let g = grid_size(n);
    let delta = rest / g as f64;
    let mut f = vec![f64::NEG_INFINITY; g + 1];
    f[0] = 0.0;
    let mut choice = vec![0u16; n * (g + 1)];
    let mut next = vec![f64::NEG_INFINITY; g + 1];
    let mut vals = Vec::with_capacity(g + 1);
    for k in 0..n {
        let cap = (((hi[k] - lo[k]) / delta) * (1.0 + 1e-12))
            .floor()
            .clamp(0.0, g as f64) as usize;
        vals.clear();
        vals.extend((0..=cap).map(|m| curves.response(k, lo[k] + m as f64 * delta)));
        for j in 0..=g {
            let mut best = f64::NEG_INFINITY;
            let mut arg = 0u16;
            for m in 0..=cap.min(j) {
                let v = f[j - m] + vals[m];
                if v > best {
                    best = v;
                    arg = m as u16;
                }
            }
            next[j] = best;
            choice[k * (g + 1) + j] = arg;
        }
        std::mem::swap(&mut f, &mut next);
    }
    let mut j = (0..=g).rev().find(|&j| f[j].is_finite()).unwrap_or(0);
    let mut s = lo.to_vec();
    for k in (0..n).rev() {
        let m = choice[k * (g + 1) + j] as usize;
        s[k] = (lo[k] + m as f64 * delta).min(hi[k]);
        j -= m;
    }
    project(&s, lo, hi, budget)
}

/// Index of the highest marginal on `[lo, hi]` as a spend (grid, then golden-section refinement).
fn marginal_peak(curves: &dyn ResponseCurves, i: usize, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        return lo;
    }
    let pts: Vec<f64> = probe_points().iter().map(|u| lo + u * (hi - lo)).collect();
    let ms: Vec<f64> = pts.iter().map(|&s| curves.marginal(i, s)).collect();
    let mut k = 0;
    for j in 1..pts.len() {
        if ms[j] > ms[k] {
            k = j;
        }
    }
    if k == 0 {
        return lo;
    }
    let (mut a, mut b) = (pts[k - 1], pts[(k + 1).min(pts.len() - 1)]);
    let phi = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (curves.marginal(i, c), curves.marginal(i, d));
    for _ in 0..80 {
        if b - a <= 1e-13 * (hi - lo) {
            break;
        }
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = curves.marginal(i, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = curves.marginal(i, d);
        }
    }
    0.5 * (a + b)
}

/// One exact concave solve over the channels on the concave side of their curves (the others
/// held at their spends). Returns whether the objective improved.
fn polish(
    curves: &dyn ResponseCurves,
    lo: &[f64],
    hi: &[f64],
    peak: &[f64],
    budget: f64,
    x: &mut Vec<f64>,
    fx: &mut f64,
) -> bool {
    let n = x.len();
    let mut idx = Vec::with_capacity(n);
    let mut lo2 = lo.to_vec();
    let mut fixed = 0.0;
    for i in 0..n {
        let a = peak[i].max(lo[i]);
        if x[i] >= a && a < hi[i] {
            idx.push(i);
            lo2[i] = a;
        } else {
            fixed += x[i];
            lo2[i] = x[i];
        }
    }
    if idx.is_empty() {
        return false;
    }
    let mut y = solve_concave(curves, &idx, &lo2, hi, budget - fixed);
    for i in 0..n {
        if !idx.contains(&i) {
            y[i] = x[i];
        }
    }
    fix_sum(&mut y, lo, hi, budget);
    let fy = objective(curves, &y);
    if fy > *fx + 1e-14 * fx.abs() {
        *x = y;
        *fx = fy;
        true
    } else {
        false
    }
}

/// Best `t ∈ [0, tmax]` for `φ(t) = r_i(x_i + t) + r_j(x_j − t)` (samples, then refinement).
fn best_transfer(
    curves: &dyn ResponseCurves,
    i: usize,
    j: usize,
    xi: f64,
    xj: f64,
    tmax: f64,
) -> f64 {
    let phi = |t: f64| curves.response(i, xi + t) + curves.response(j, xj - t);
    let dphi = |t: f64| curves.marginal(i, xi + t) - curves.marginal(j, xj - t);
    const K: usize = 16;
    let ts: Vec<f64> = (0..=K).map(|k| tmax * k as f64 / K as f64).collect();
    let vs: Vec<f64> = ts.iter().map(|&t| phi(t)).collect();
    let mut k = 0;
    for q in 1..=K {
        if vs[q] > vs[k] {
            k = q;
        }
    }
    // refine around the best sample (and right of 0, where φ'(0) > 0)
    let a = if k == 0 { 0.0 } else { ts[k - 1] };
    let b = if k == K { tmax } else { ts[k + 1] };
    let (da, db) = (dphi(a), dphi(b));
    let t = if da > 0.0 && db < 0.0 {
        root_decreasing_bisect(&dphi, a, b)
    } else if da > 0.0 && db >= 0.0 && b == tmax {
        tmax
    } else {
        golden_max(&phi, a, b)
    };
    let candidates = [ts[k], t];
    let mut best = ts[k];
    let mut bv = vs[k];
    for &c in &candidates {
        let v = phi(c);
        if v > bv {
            bv = v;
            best = c;
        }
    }
    best
}

/// Root of `g` on `[a, b]` with `g(a) > 0 > g(b)`, by bisection on the sign (g need not be
/// monotone; some sign change is found).
fn root_decreasing_bisect(g: &impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    for _ in 0..100 {
        if b - a <= 1e-14 * (a.abs() + b.abs()) + 1e-300 {
            break;
        }
        let m = 0.5 * (a + b);
        if g(m) > 0.0 {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// Golden-section maximization of `f` on `[a, b]`.
fn golden_max(f: &impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let phi = 0.5 * (5f64.sqrt() - 1.0);
    let w = b - a;
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..100 {
        if b - a <= 1e-13 * w + 1e-300 {
            break;
        }
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    0.5 * (a + b)
}

/// Pairwise exchanges between the highest- and lowest-marginal channels until no pair gains.
fn exchange(
    curves: &dyn ResponseCurves,
    lo: &[f64],
    hi: &[f64],
    x: &mut [f64],
    fx: &mut f64,
    max_iter: usize,
) -> bool {
    let n = x.len();
    let mut improved = false;
    let mut m: Vec<f64> = (0..n).map(|i| curves.marginal(i, x[i])).collect();
    for _ in 0..max_iter {
        let eps = |i: usize| 1e-12 * (hi[i] - lo[i]).abs().max(1e-300);
        let up = (0..n)
            .filter(|&i| x[i] < hi[i] - eps(i))
            .max_by(|&a, &b| m[a].total_cmp(&m[b]));
        let Some(i) = up else { break };
        let down = (0..n)
            .filter(|&j| j != i && x[j] > lo[j] + eps(j))
            .min_by(|&a, &b| m[a].total_cmp(&m[b]));
        let Some(j) = down else { break };
        if m[i] - m[j] <= 1e-11 * m[i].abs().max(m[j].abs()) {
            break;
        }
        let tmax = (hi[i] - x[i]).min(x[j] - lo[j]);
        let t = best_transfer(curves, i, j, x[i], x[j], tmax);
        if t <= 0.0 {
            break;
        }
        let (oi, oj) = (x[i], x[j]);
        let new_i = if t == tmax && hi[i] - x[i] <= x[j] - lo[j] {
            hi[i]
        } else {
            x[i] + t
        };
        let new_j = if t == tmax && x[j] - lo[j] <= hi[i] - x[i] {
            lo[j]
        } else {
            x[j] - t
        };
        let delta = curves.response(i, new_i) + curves.response(j, new_j)
            - curves.response(i, oi)
            - curves.response(j, oj);
        // small gains: stop here and leave the fine work to the exact concave solve (polish)
        if delta <= 1e-10 * fx.abs() {
            if delta > 0.0 {
                x[i] = new_i;
                x[j] = new_j;
                *fx += delta;
            }
            break;
        }
        x[i] = new_i;
        x[j] = new_j;
        *fx += delta;
        m[i] = curves.marginal(i, x[i]);
        m[j] = curves.marginal(j, x[j]);
        improved = true;
    }
    improved
}

/// The S-shaped path: grid dynamic programme and multi-start local refinement.
fn solve_global(curves: &dyn ResponseCurves, lo: &[f64], hi: &[f64], budget: f64) -> Vec<f64> {
    let n = lo.len();
    let peak: Vec<f64> = (0..n)
        .map(|i| marginal_peak(curves, i, lo[i], hi[i]))
        .collect();
    let current: Vec<f64> = (0..n).map(|i| curves.current_spend(i)).collect();
    let equal = vec![budget / n.max(1) as f64; n];
    let room: f64 = hi.iter().zip(lo).map(|(h, l)| h - l).sum();
    let rest = budget - lo.iter().sum::<f64>();
    let proportional: Vec<f64> = (0..n)
        .map(|i| {
            lo[i]
                + if room > 0.0 {
                    (hi[i] - lo[i]) * rest / room
                } else {
                    0.0
                }
        })
        .collect();
    let starts = [
        dp_start(curves, lo, hi, budget),
        project(&current, lo, hi, budget),
        project(&equal, lo, hi, budget),
        project(&proportional, lo, hi, budget),
    ];
    let mut best: Option<(Vec<f64>, f64)> = None;
    for s in starts {
        let mut x = s;
        let mut fx = objective(curves, &x);
        // polish is idempotent, so the loop ends as soon as an exchange changes nothing
        let mut polished = false;
        for _ in 0..50 {
            polish(curves, lo, hi, &peak, budget, &mut x, &mut fx);
            polished = true;
            if !exchange(curves, lo, hi, &mut x, &mut fx, 20 * n + 20) {
                break;
            }
            polished = false;
        }
        if !polished {
            polish(curves, lo, hi, &peak, budget, &mut x, &mut fx);
        }
        let fx = objective(curves, &x);
        let better = match &best {
            None => true,
            Some((_, fb)) => fx > *fb,
        };
        if better {
            best = Some((x, fx));
        }
    }
    best.map(|(x, _)| x).unwrap_or_else(|| lo.to_vec())
}

/// The spend in `[lo, hi]` maximizing `response(i, s) − θ·horizon·s` (profit at marginal price
/// `θ`): where the marginal falls to `θ` on the concave side, or a bound.
pub fn best_net(curves: &dyn ResponseCurves, i: usize, lo: f64, hi: f64, theta: f64) -> f64 {
    let h = curves.horizon().max(1) as f64;
    let net = |s: f64| curves.response(i, s) - theta * h * s;
    if hi <= lo {
        return lo;
    }
    if is_concave_on(curves, i, lo, hi) {
        let (ml, mh) = (curves.marginal(i, lo), curves.marginal(i, hi));
        if ml <= theta {
            return lo;
        }
        if mh >= theta {
            return hi;
        }
        return root_decreasing(
            |s| curves.marginal(i, s) - theta,
            lo,
            ml - theta,
            hi,
            mh - theta,
        );
    }
    const K: usize = 400;
    let ts: Vec<f64> = (0..=K)
        .map(|k| lo + (hi - lo) * k as f64 / K as f64)
        .collect();
    let mut k = 0;
    let mut bv = net(ts[0]);
    for (q, &t) in ts.iter().enumerate().skip(1) {
        let v = net(t);
        if v > bv {
            bv = v;
            k = q;
        }
    }
    let a = ts[k.saturating_sub(1)];
    let b = ts[(k + 1).min(K)];
    let (ga, gb) = (curves.marginal(i, a) - theta, curves.marginal(i, b) - theta);
    let t = if ga > 0.0 && gb < 0.0 {
        root_decreasing_bisect(&|s| curves.marginal(i, s) - theta, a, b)
    } else {
        golden_max(&net, a, b)
    };
    if net(t) > bv {
        t
    } else {
        ts[k]
    }
}
