//! The No-U-Turn Sampler with a diagonal mass matrix, as Stan implements it (`base_nuts.hpp`:
//! multinomial sampling of the trajectory, biased progressive sampling between subtrees, the
//! generalized no-U-turn criterion checked across merged subtrees; Betancourt 2017, "A
//! Conceptual Introduction to Hamiltonian Monte Carlo", appendix A), with Stan's windowed
//! warm-up: a fast initial buffer of 75 draws, slow windows of 25, 50, 100, … draws that estimate
//! the diagonal metric, and a fast final buffer of 50 draws, with dual-averaging step size
//! adaptation (Hoffman & Gelman 2014) restarted after every metric update.
//!
//! # Formula
//! ```text
//! H(q, p) = −log π(q) + ½·Σ_i m_i⁻¹·p_i²,           p ~ N(0, diag(m)),   m⁻¹ = metric
//! leapfrog:  p ← p + ε/2·∇log π(q);  q ← q + ε·m⁻¹∘p;  p ← p + ε/2·∇log π(q)
//! dual averaging (δ = target acceptance, γ = 0.05, t₀ = 10, κ = 0.75, μ = log 10ε₀):
//!   H̄_k = (1 − 1/(k + t₀))·H̄_{k−1} + (δ − α_k)/(k + t₀);  log ε_k = μ − √k/γ·H̄_k
//!   log ε̄_k = k^{−κ}·log ε_k + (1 − k^{−κ})·log ε̄_{k−1}
//! metric after a window of n draws:  m⁻¹ = n/(n + 5)·var(q) + 10⁻³·5/(n + 5)
//!   (dense: Σ = n/(n + 5)·cov(q) + 10⁻³·5/(n + 5)·S, as Stan's dense_e)
//! ```
//! where Stan's identity regularizer is replaced by `S = diag(s)`, the variances of the metric
//! the chain started with (`s = 1` by default, Stan's rule; the Laplace approximation's in
//! `bayesian_mmm`): a parameter whose posterior sd is 10⁻⁵ (a per-week trend coefficient) would
//! otherwise get a variance of ~10⁻⁵ from the regularizer alone, 10⁴ times its own, and force a
//! step size 100 times too small.
//! ```text
//! ```
//!
//! `nuts-rs` (0.19) was measured and not used: see the crate docs.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A log-density with its gradient, evaluated without allocating.
pub trait LogDensity {
    /// Number of (unconstrained) dimensions.
    fn dim(&self) -> usize;
    /// Writes `∇ log π(q)` into `grad` and returns `log π(q)` (`-∞` or NaN where undefined).
    fn logp_grad(&mut self, q: &[f64], grad: &mut [f64]) -> f64;
}

/// Sampler settings.
#[derive(Debug, Clone, Copy)]
pub struct NutsSettings {
    /// Warm-up (tuning) iterations.
    pub tune: usize,
    /// Kept draws.
    pub draws: usize,
    /// Target mean acceptance statistic of the step size adaptation.
    pub target_accept: f64,
    /// Maximum tree depth (at most `2^depth − 1` leapfrog steps per draw).
    pub max_depth: usize,
    /// Energy error above which a trajectory counts as divergent.
    pub max_energy_error: f64,
    /// Adapt a dense metric (the full covariance, Stan's `dense_e`) instead of a diagonal one.
    pub dense_metric: bool,
}

impl Default for NutsSettings {
    fn default() -> Self {
        NutsSettings {
            tune: 1000,
            draws: 1000,
            target_accept: 0.8,
            max_depth: 10,
            max_energy_error: 1000.0,
            dense_metric: false,
        }
    }
}

/// What one iteration reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct DrawStats {
    /// Whether the trajectory diverged.
    pub diverging: bool,
    /// Tree depth reached.
    pub depth: usize,
    /// Whether the maximum depth was hit.
    pub max_depth_hit: bool,
    /// Hamiltonian at the sampled point (for E-BFMI).
    pub energy: f64,
    /// Step size used.
    pub step_size: f64,
    /// Mean Metropolis acceptance over the trajectory.
    pub accept: f64,
    /// Leapfrog steps (= gradient evaluations).
    pub n_leapfrog: usize,
    /// `log π` at the sampled point.
    pub logp: f64,
}

#[derive(Clone)]
struct Point {
    q: Vec<f64>,
    p: Vec<f64>,
    g: Vec<f64>,
    logp: f64,
}

impl Point {
    fn new(d: usize) -> Self {
        Point {
            q: vec![0.0; d],
            p: vec![0.0; d],
            g: vec![0.0; d],
            logp: f64::NEG_INFINITY,
        }
    }
    fn copy_from(&mut self, o: &Point) {
        self.q.copy_from_slice(&o.q);
        self.p.copy_from_slice(&o.p);
        self.g.copy_from_slice(&o.g);
        self.logp = o.logp;
    }
}

/// One NUTS chain.
pub struct Chain<F: LogDensity> {
    f: F,
    rng: ChaCha8Rng,
    settings: NutsSettings,
    metric: Metric,
    /// Per-coordinate variance scale of the metric regularization (the starting metric's).
    reference_scale: Vec<f64>,
    eps: f64,
    current: Point,
    // scratch
    z: Point,
    z_fwd: Point,
    z_bck: Point,
    z_sample: Point,
    z_propose: Point,
    pool: Vec<Point>,
    vecs: Vec<Vec<f64>>,
    velocity: Vec<f64>,
    n_leapfrog: usize,
    sum_metro: f64,
    divergent: bool,
    h0: f64,
}

/// The inverse metric `Σ = M⁻¹` of the kinetic energy `½·pᵀΣp`, diagonal or dense.
///
/// # Formula
/// ```text
/// p ~ N(0, Σ⁻¹):  p = L⁻ᵀz,  z ~ N(0, I),  Σ = L·Lᵀ (Cholesky)     (diagonal: p_i = z_i/√Σ_ii)
/// p♯ = Σ·p (the velocity),  kinetic energy = ½·p·p♯
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    d: usize,
    dense: bool,
    /// Diagonal: `Σ_ii` (d values); dense: `Σ` row-major (d² values).
    sigma: Vec<f64>,
    /// Dense: the lower Cholesky factor `L` row-major; diagonal: unused.
    chol: Vec<f64>,
}

impl Metric {
    /// The diagonal metric with `Σ = diag(var)`.
    pub fn diagonal(var: &[f64]) -> Self {
        Metric {
            d: var.len(),
            dense: false,
            sigma: var.to_vec(),
            chol: Vec::new(),
        }
    }

    /// The dense metric with `Σ = cov` (`d×d`, row-major, symmetrized); `None` when `cov` is not
    /// numerically positive definite.
    pub fn dense(cov: &[f64], d: usize) -> Option<Self> {
        if cov.len() != d * d || cov.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sigma = cov.to_vec();
        symmetrize(&mut sigma, d);
        let chol = cholesky(&sigma, d)?;
        Some(Metric {
            d,
            dense: true,
            sigma,
            chol,
        })
    }

    /// Whether the metric is dense.
    pub fn is_dense(&self) -> bool {
        self.dense
    }

    /// The marginal variances `Σ_ii`.
    pub fn variances(&self) -> Vec<f64> {
        if self.dense {
            (0..self.d).map(|i| self.sigma[i * self.d + i]).collect()
        } else {
            self.sigma.clone()
        }
    }

    /// `out = Σ·p`.
    #[inline]
    pub fn p_sharp(&self, p: &[f64], out: &mut [f64]) {
        if self.dense {
            let d = self.d;
            for i in 0..d {
                let row = &self.sigma[i * d..(i + 1) * d];
                out[i] = dot(row, p);
            }
        } else {
            for i in 0..self.d {
                out[i] = self.sigma[i] * p[i];
            }
        }
    }

    /// `½·pᵀΣp`.
    #[inline]
    pub fn kinetic(&self, p: &[f64]) -> f64 {
        if self.dense {
            let d = self.d;
            let mut k = 0.0;
            for i in 0..d {
                let row = &self.sigma[i * d..(i + 1) * d];
                k += p[i] * dot(row, p);
            }
            0.5 * k
        } else {
            0.5 * p
                .iter()
                .zip(&self.sigma)
                .map(|(p, m)| p * p * m)
                .sum::<f64>()
        }
    }

    /// A momentum `p ~ N(0, Σ⁻¹)` from standard normal `z` (overwritten with `p`).
    #[inline]
    pub fn momentum_from(&self, z: &mut [f64]) {
        if self.dense {
            // solve Lᵀ·p = z by back substitution
            let d = self.d;
            for i in (0..d).rev() {
                let mut v = z[i];
                for j in i + 1..d {
                    v -= self.chol[j * d + i] * z[j];
                }
                z[i] = v / self.chol[i * d + i];
            }
        } else {
            for i in 0..self.d {
                z[i] /= self.sigma[i].sqrt();
            }
        }
    }
}

/// Replaces the `d×d` row-major matrix `a` by `(a + aᵀ)/2`.
fn symmetrize(a: &mut [f64], d: usize) {
    for i in 0..d {
        for j in 0..i {
            let v = 0.5 * (a[i * d + j] + a[j * d + i]);
            a[i * d + j] = v;
            a[j * d + i] = v;
        }
    }
}

/// The lower Cholesky factor of a symmetric `d×d` row-major matrix; `None` unless positive definite.
pub fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// `Σ aᵢ·bᵢ`, one serial sum (the metric's products and the U-turn criterion). The
/// four-accumulator `mmm_core::sums::dot` would round differently and so move every chain's
/// trajectory; on seed 001's Bayesian example that tipped a marginal fit (max R-hat 1.03 → 1.07),
/// for a gain of a few percent that only the dense metric of large models sees.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn log_sum_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

impl<F: LogDensity> Chain<F> {
    /// A chain started at `q0` (which must have a finite log-density).
    pub fn new(f: F, q0: &[f64], settings: NutsSettings, rng: ChaCha8Rng) -> Self {
        let d = f.dim();
        let mut c = Chain {
            f,
            rng,
            settings,
            metric: Metric::diagonal(&vec![1.0; d]),
            reference_scale: vec![1.0; d],
            eps: 1.0,
            current: Point::new(d),
            z: Point::new(d),
            z_fwd: Point::new(d),
            z_bck: Point::new(d),
            z_sample: Point::new(d),
            z_propose: Point::new(d),
            pool: (0..4 * (settings.max_depth + 1))
                .map(|_| Point::new(d))
                .collect(),
            vecs: (0..16 * (settings.max_depth + 2))
                .map(|_| vec![0.0; d])
                .collect(),
            velocity: vec![0.0; d],
            n_leapfrog: 0,
            sum_metro: 0.0,
            divergent: false,
            h0: 0.0,
        };
        c.current.q.copy_from_slice(q0);
        c.current.logp = c.f.logp_grad(&c.current.q, &mut c.current.g);
        c
    }

    /// Sets the inverse metric (diagonal or dense), e.g. from a Laplace approximation, before
    /// warm-up. A metric of the wrong dimension is ignored.
    pub fn set_metric(&mut self, metric: Metric) {
        if metric.d == self.current.q.len() {
            self.reference_scale = metric.variances();
            self.metric = metric;
        }
    }

    /// The current inverse metric.
    pub fn metric(&self) -> &Metric {
        &self.metric
    }

    /// The log-density function (e.g. to read its evaluation counter).
    pub fn density(&self) -> &F {
        &self.f
    }

    /// The current position.
    pub fn position(&self) -> &[f64] {
        &self.current.q
    }

    /// The current step size.
    pub fn step_size(&self) -> f64 {
        self.eps
    }

    fn kinetic(&self, p: &[f64]) -> f64 {
        self.metric.kinetic(p)
    }

    fn hamiltonian(&self, z: &Point) -> f64 {
        -z.logp + self.kinetic(&z.p)
    }

    fn leapfrog(&mut self, eps: f64) {
        let z = &mut self.z;
        for i in 0..z.q.len() {
            z.p[i] += 0.5 * eps * z.g[i];
        }
        let v = &mut self.velocity;
        self.metric.p_sharp(&z.p, v);
        for i in 0..z.q.len() {
            z.q[i] += eps * v[i];
        }
        z.logp = self.f.logp_grad(&z.q, &mut z.g);
        for i in 0..z.q.len() {
            z.p[i] += 0.5 * eps * z.g[i];
        }
    }

    fn sample_momentum(&mut self) {
        for i in 0..self.current.p.len() {
            self.current.p[i] = StandardNormal.sample(&mut self.rng);
        }
        self.metric.momentum_from(&mut self.current.p);
    }

    /// Stan's heuristic for a first step size: double or halve `ε` until the one-step
    /// acceptance `exp(H₀ − H)` crosses 0.8.
    fn init_step_size(&mut self) {
        if !self.current.logp.is_finite() {
            return;
        }
        self.sample_momentum();
        let h0 = self.hamiltonian(&self.current);
        let d = |c: &mut Self| -> f64 {
            c.z.copy_from(&c.current);
            let e = c.eps;
            c.leapfrog(e);
            let h = c.hamiltonian(&c.z);
            let h = if h.is_nan() { f64::INFINITY } else { h };
            h0 - h
        };
        let delta_h = d(self);
        let direction = if delta_h > 0.8f64.ln() { 1.0 } else { -1.0 };
        for _ in 0..100 {
            self.sample_momentum();
            let h0n = self.hamiltonian(&self.current);
            self.z.copy_from(&self.current);
            let e = self.eps;
            self.leapfrog(e);
            let h = self.hamiltonian(&self.z);
            let h = if h.is_nan() { f64::INFINITY } else { h };
            let dh = h0n - h;
            if direction == 1.0 && dh <= 0.8f64.ln() {
                break;
            }
            if direction == -1.0 && dh >= 0.8f64.ln() {
                break;
            }
            self.eps = if direction == 1.0 {
                2.0 * self.eps
            } else {
                0.5 * self.eps
            };
            if self.eps > 1e7 || self.eps < 1e-10 {
                break;
            }
        }
    }

    fn take_vec(&mut self) -> Vec<f64> {
        self.vecs
            .pop()
            .unwrap_or_else(|| vec![0.0; self.current.q.len()])
    }
    fn give_vec(&mut self, v: Vec<f64>) {
        self.vecs.push(v);
    }
    fn take_point(&mut self) -> Point {
        self.pool
            .pop()
            .unwrap_or_else(|| Point::new(self.current.q.len()))
    }
    fn give_point(&mut self, p: Point) {
        self.pool.push(p);
    }

    fn p_sharp(&self, p: &[f64], out: &mut [f64]) {
        self.metric.p_sharp(p, out);
    }

    /// Builds a subtree of `2^depth` leapfrog steps from `self.z` in direction `sign`.
    #[allow(clippy::too_many_arguments)]
    fn build_tree(
        &mut self,
        depth: usize,
        z_propose: &mut Point,
        p_sharp_beg: &mut [f64],
        p_sharp_end: &mut [f64],
        rho: &mut [f64],
        p_beg: &mut [f64],
        p_end: &mut [f64],
        sign: f64,
        log_sum_weight: &mut f64,
    ) -> bool {
        if depth == 0 {
            let e = sign * self.eps;
            self.leapfrog(e);
            self.n_leapfrog += 1;
            let mut h = self.hamiltonian(&self.z);
            if h.is_nan() {
                h = f64::INFINITY;
            }
            if h - self.h0 > self.settings.max_energy_error {
                self.divergent = true;
            }
            *log_sum_weight = log_sum_exp(*log_sum_weight, self.h0 - h);
            self.sum_metro += if self.h0 - h > 0.0 {
                1.0
            } else {
                (self.h0 - h).exp()
            };
            z_propose.copy_from(&self.z);
            self.p_sharp(&self.z.p, p_sharp_beg);
            p_sharp_end.copy_from_slice(p_sharp_beg);
            for (r, p) in rho.iter_mut().zip(&self.z.p) {
                *r += p;
            }
            p_beg.copy_from_slice(&self.z.p);
            p_end.copy_from_slice(&self.z.p);
            return !self.divergent;
        }
        // initial subtree
        let mut lsw_init = f64::NEG_INFINITY;
        let mut p_init_end = self.take_vec();
        let mut p_sharp_init_end = self.take_vec();
        let mut rho_init = self.take_vec();
        rho_init.iter_mut().for_each(|v| *v = 0.0);
        let valid_init = self.build_tree(
            depth - 1,
            z_propose,
            p_sharp_beg,
            &mut p_sharp_init_end,
            &mut rho_init,
            p_beg,
            &mut p_init_end,
            sign,
            &mut lsw_init,
        );
        if !valid_init {
            self.give_vec(p_init_end);
            self.give_vec(p_sharp_init_end);
            self.give_vec(rho_init);
            return false;
        }
        // final subtree
        let mut z_propose_final = self.take_point();
        let mut lsw_final = f64::NEG_INFINITY;
        let mut p_final_beg = self.take_vec();
        let mut p_sharp_final_beg = self.take_vec();
        let mut rho_final = self.take_vec();
        rho_final.iter_mut().for_each(|v| *v = 0.0);
        let valid_final = self.build_tree(
            depth - 1,
            &mut z_propose_final,
            &mut p_sharp_final_beg,
            p_sharp_end,
            &mut rho_final,
            &mut p_final_beg,
            p_end,
            sign,
            &mut lsw_final,
        );
        let mut persist = valid_final;
        if valid_final {
            let lsw_subtree = log_sum_exp(lsw_init, lsw_final);
            *log_sum_weight = log_sum_exp(*log_sum_weight, lsw_subtree);
            if lsw_final > lsw_subtree {
                z_propose.copy_from(&z_propose_final);
            } else {
                let accept = (lsw_final - lsw_subtree).exp();
                if self.rng.random::<f64>() < accept {
                    z_propose.copy_from(&z_propose_final);
                }
            }
            // rho_subtree = rho_init + rho_final
            let mut rho_sub = self.take_vec();
            for i in 0..rho_sub.len() {
                rho_sub[i] = rho_init[i] + rho_final[i];
                rho[i] += rho_sub[i];
            }
            persist = criterion(p_sharp_beg, p_sharp_end, &rho_sub);
            let mut rho_ext = self.take_vec();
            for i in 0..rho_ext.len() {
                rho_ext[i] = rho_init[i] + p_final_beg[i];
            }
            persist &= criterion(p_sharp_beg, &p_sharp_final_beg, &rho_ext);
            for i in 0..rho_ext.len() {
                rho_ext[i] = rho_final[i] + p_init_end[i];
            }
            persist &= criterion(&p_sharp_init_end, p_sharp_end, &rho_ext);
            self.give_vec(rho_sub);
            self.give_vec(rho_ext);
        }
        self.give_point(z_propose_final);
        for v in [
            p_init_end,
            p_sharp_init_end,
            rho_init,
            p_final_beg,
            p_sharp_final_beg,
            rho_final,
        ] {
            self.give_vec(v);
        }
        persist
    }

    /// One NUTS transition from the current point (Stan's `base_nuts::transition`).
    pub fn transition(&mut self) -> DrawStats {
        let d = self.current.q.len();
        self.sample_momentum();
        self.h0 = self.hamiltonian(&self.current);
        self.z.copy_from(&self.current);
        self.z_fwd.copy_from(&self.current);
        self.z_bck.copy_from(&self.current);
        self.z_sample.copy_from(&self.current);
        self.z_propose.copy_from(&self.current);

        let mut p_fwd_fwd = self.current.p.clone();
        let mut p_sharp_fwd_fwd = vec![0.0; d];
        self.p_sharp(&p_fwd_fwd, &mut p_sharp_fwd_fwd);
        let mut p_fwd_bck = p_fwd_fwd.clone();
        let mut p_sharp_fwd_bck = p_sharp_fwd_fwd.clone();
        let mut p_bck_fwd = p_fwd_fwd.clone();
        let mut p_sharp_bck_fwd = p_sharp_fwd_fwd.clone();
        let mut p_bck_bck = p_fwd_fwd.clone();
        let mut p_sharp_bck_bck = p_sharp_fwd_fwd.clone();
        let mut rho = self.current.p.clone();
        let mut log_sum_weight = 0.0;
        let mut depth = 0;
        self.n_leapfrog = 0;
        self.sum_metro = 0.0;
        self.divergent = false;
        let mut rho_fwd = vec![0.0; d];
        let mut rho_bck = vec![0.0; d];
        let mut rho_ext = vec![0.0; d];
        let mut z_propose = std::mem::replace(&mut self.z_propose, Point::new(0));

        while depth < self.settings.max_depth {
            rho_fwd.iter_mut().for_each(|v| *v = 0.0);
            rho_bck.iter_mut().for_each(|v| *v = 0.0);
            let mut lsw_subtree = f64::NEG_INFINITY;
            let valid = if self.rng.random::<f64>() > 0.5 {
                // extend forward
                self.z.copy_from(&self.z_fwd);
                rho_bck.copy_from_slice(&rho);
                p_bck_fwd.copy_from_slice(&p_fwd_bck);
                p_sharp_bck_fwd.copy_from_slice(&p_sharp_fwd_bck);
                let v = self.build_tree(
                    depth,
                    &mut z_propose,
                    &mut p_sharp_fwd_bck,
                    &mut p_sharp_fwd_fwd,
                    &mut rho_fwd,
                    &mut p_fwd_bck,
                    &mut p_fwd_fwd,
                    1.0,
                    &mut lsw_subtree,
                );
                self.z_fwd.copy_from(&self.z);
                v
            } else {
                // extend backward
                self.z.copy_from(&self.z_bck);
                rho_fwd.copy_from_slice(&rho);
                p_fwd_bck.copy_from_slice(&p_bck_fwd);
                p_sharp_fwd_bck.copy_from_slice(&p_sharp_bck_fwd);
                let v = self.build_tree(
                    depth,
                    &mut z_propose,
                    &mut p_sharp_bck_fwd,
                    &mut p_sharp_bck_bck,
                    &mut rho_bck,
                    &mut p_bck_fwd,
                    &mut p_bck_bck,
                    -1.0,
                    &mut lsw_subtree,
                );
                self.z_bck.copy_from(&self.z);
                v
            };
            if !valid {
                break;
            }
            depth += 1;
            if lsw_subtree > log_sum_weight {
                self.z_sample.copy_from(&z_propose);
            } else {
                let accept = (lsw_subtree - log_sum_weight).exp();
                if self.rng.random::<f64>() < accept {
                    self.z_sample.copy_from(&z_propose);
                }
            }
            log_sum_weight = log_sum_exp(log_sum_weight, lsw_subtree);
            for i in 0..d {
                rho[i] = rho_bck[i] + rho_fwd[i];
            }
            let mut persist = criterion(&p_sharp_bck_bck, &p_sharp_fwd_fwd, &rho);
            for i in 0..d {
                rho_ext[i] = rho_bck[i] + p_fwd_bck[i];
            }
            persist &= criterion(&p_sharp_bck_bck, &p_sharp_fwd_bck, &rho_ext);
            for i in 0..d {
                rho_ext[i] = rho_fwd[i] + p_bck_fwd[i];
            }
            persist &= criterion(&p_sharp_bck_fwd, &p_sharp_fwd_fwd, &rho_ext);
            if !persist {
                break;
            }
        }
        self.z_propose = z_propose;
        self.current.copy_from(&self.z_sample);
        let accept = if self.n_leapfrog > 0 {
            self.sum_metro / self.n_leapfrog as f64
        } else {
            0.0
        };
        DrawStats {
            diverging: self.divergent,
            depth,
            max_depth_hit: depth >= self.settings.max_depth,
            energy: self.hamiltonian(&self.current),
            step_size: self.eps,
            accept,
            n_leapfrog: self.n_leapfrog,
            logp: self.current.logp,
        }
    }
}

/// The generalized no-U-turn criterion: `p♯₋·ρ > 0` and `p♯₊·ρ > 0`.
fn criterion(p_sharp_minus: &[f64], p_sharp_plus: &[f64], rho: &[f64]) -> bool {
    dot(p_sharp_plus, rho) > 0.0 && dot(p_sharp_minus, rho) > 0.0
}

/// Moves `q` towards the mode with Adam (Kingma & Ba 2015) on `log π`, which is invariant to the
/// scale of each coordinate, then returns the inverse of the negative diagonal Hessian there
/// (central differences of the gradient; 1 where the curvature is not negative), a Laplace
/// approximation used as the starting metric:
/// ```text
/// m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  q ← q + η_k·m̂/(√v̂ + 10⁻⁸),  η_k = η₀·0.99^k
/// metric_i = 1 / max(−∂²log π/∂q_i², ε)
/// ```
pub fn find_start<F: LogDensity>(f: &mut F, q: &mut [f64], iterations: usize) -> Vec<f64> {
    let d = q.len();
    let (b1, b2) = (0.9f64, 0.999f64);
    let mut m = vec![0.0; d];
    let mut v = vec![0.0; d];
    let mut g = vec![0.0; d];
    let mut best = q.to_vec();
    let mut best_lp = f.logp_grad(q, &mut g);
    let mut lr = 0.1;
    for k in 1..=iterations {
        let lp = f.logp_grad(q, &mut g);
        if !lp.is_finite() || g.iter().any(|x| !x.is_finite()) {
            q.copy_from_slice(&best);
            lr *= 0.5;
            m.iter_mut().for_each(|x| *x = 0.0);
            v.iter_mut().for_each(|x| *x = 0.0);
            continue;
        }
        if lp > best_lp {
            best_lp = lp;
            best.copy_from_slice(q);
        }
        let (c1, c2) = (1.0 - b1.powi(k as i32), 1.0 - b2.powi(k as i32));
        for i in 0..d {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            q[i] += lr * (m[i] / c1) / ((v[i] / c2).sqrt() + 1e-8);
        }
        lr *= 0.99;
    }
    let lp = f.logp_grad(q, &mut g);
    if !(lp.is_finite() && lp >= best_lp) {
        q.copy_from_slice(&best);
    }
    let mut metric = vec![1.0; d];
    let mut gp = vec![0.0; d];
    let mut gm = vec![0.0; d];
    let mut x = q.to_vec();
    for i in 0..d {
        let h = 1e-4;
        x[i] = q[i] + h;
        let a = f.logp_grad(&x, &mut gp);
        x[i] = q[i] - h;
        let b = f.logp_grad(&x, &mut gm);
        x[i] = q[i];
        let hii = (gp[i] - gm[i]) / (2.0 * h);
        if a.is_finite() && b.is_finite() && hii < 0.0 && hii.is_finite() {
            metric[i] = (1.0 / -hii).clamp(1e-12, 1e6);
        }
    }
    metric
}

/// The inverse of the negative Hessian of `log π` at `q` (central differences of the gradient,
/// symmetrized), a dense Laplace approximation of the posterior covariance used as the starting
/// metric; `None` unless `−H` is positive definite there.
/// ```text
/// H_ij ≈ (∂_j log π(q + h·e_i) − ∂_j log π(q − h·e_i)) / 2h,   Σ = (−H)⁻¹ = L⁻ᵀL⁻¹,  −H = L·Lᵀ
/// ```
pub fn laplace_covariance<F: LogDensity>(f: &mut F, q: &[f64]) -> Option<Metric> {
    let d = q.len();
    let h = 1e-4;
    let mut neg_h = vec![0.0; d * d];
    let mut gp = vec![0.0; d];
    let mut gm = vec![0.0; d];
    let mut x = q.to_vec();
    for i in 0..d {
        x[i] = q[i] + h;
        let a = f.logp_grad(&x, &mut gp);
        x[i] = q[i] - h;
        let b = f.logp_grad(&x, &mut gm);
        x[i] = q[i];
        if !(a.is_finite() && b.is_finite()) {
            return None;
        }
        for j in 0..d {
            neg_h[i * d + j] = -(gp[j] - gm[j]) / (2.0 * h);
        }
    }
    symmetrize(&mut neg_h, d);
    let l = cholesky(&neg_h, d)?;
    // columns of L⁻¹ by forward substitution, then Σ = (L⁻¹)ᵀL⁻¹
    let mut linv = vec![0.0; d * d];
    for c in 0..d {
        for i in 0..d {
            let mut v = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                v -= l[i * d + k] * linv[k * d + c];
            }
            linv[i * d + c] = v / l[i * d + i];
        }
    }
    let mut cov = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            cov[i * d + j] = (0..d).map(|k| linv[k * d + i] * linv[k * d + j]).sum();
        }
    }
    Metric::dense(&cov, d)
}

/// Stan's warm-up windows for `tune` iterations: `(start, end)` of each slow window.
pub fn adaptation_windows(tune: usize) -> Vec<(usize, usize)> {
    let (init, term, base) = if tune < 150 {
        // Stan's fallback for short warm-ups: 15% / 75% / 10%
        let init = (0.15 * tune as f64) as usize;
        let term = (0.1 * tune as f64) as usize;
        (init, term, tune.saturating_sub(init + term))
    } else {
        (75, 50, 25)
    };
    let mut out = Vec::new();
    let last = tune.saturating_sub(term);
    let mut start = init;
    let mut size = base.max(1);
    while start < last {
        let mut end = start + size;
        if end + 2 * size > last {
            end = last;
        }
        out.push((start, end));
        start = end;
        size *= 2;
    }
    out
}

/// Runs warm-up and sampling; calls `on_draw(iteration, is_tuning, position, stats)` after
/// every iteration.
pub fn run<F: LogDensity>(
    chain: &mut Chain<F>,
    mut on_draw: impl FnMut(usize, bool, &[f64], &DrawStats),
) {
    let s = chain.settings;
    let d = chain.current.q.len();
    chain.init_step_size();
    let windows = adaptation_windows(s.tune);
    // dual averaging state
    let (gamma, t0, kappa) = (0.05, 10.0, 0.75);
    let mut mu = (10.0 * chain.eps).ln();
    let (mut s_bar, mut x_bar, mut counter) = (0.0, 0.0, 0.0f64);
    // metric accumulation (Welford)
    let mut n_acc = 0usize;
    let mut m_acc = vec![0.0; d];
    let mut v_acc = vec![0.0; if s.dense_metric { d * d } else { d }];
    let mut delta = vec![0.0; d];
    for it in 0..s.tune + s.draws {
        let tuning = it < s.tune;
        let st = chain.transition();
        if tuning {
            counter += 1.0;
            let a = st.accept.min(1.0);
            let eta = 1.0 / (counter + t0);
            s_bar = (1.0 - eta) * s_bar + eta * (s.target_accept - a);
            let x = mu - s_bar * counter.sqrt() / gamma;
            let x_eta = counter.powf(-kappa);
            x_bar = (1.0 - x_eta) * x_bar + x_eta * x;
            chain.eps = x.exp();
            if let Some(&(start, end)) = windows.iter().find(|w| it >= w.0 && it < w.1) {
                let _ = start;
                n_acc += 1;
                let q = &chain.current.q;
                for i in 0..d {
                    delta[i] = q[i] - m_acc[i];
                    m_acc[i] += delta[i] / n_acc as f64;
                }
                if s.dense_metric {
                    // C += δ_old ⊗ (q − mean_new)
                    for i in 0..d {
                        for j in 0..d {
                            v_acc[i * d + j] += delta[i] * (q[j] - m_acc[j]);
                        }
                    }
                } else {
                    for i in 0..d {
                        v_acc[i] += delta[i] * (q[i] - m_acc[i]);
                    }
                }
                if it + 1 == end {
                    let n = n_acc as f64;
                    let (w, reg) = (n / (n + 5.0), 1e-3 * (5.0 / (n + 5.0)));
                    let scaled: Vec<f64> =
                        v_acc.iter().map(|v| w * v / (n - 1.0).max(1.0)).collect();
                    let diag: Vec<f64> = (0..d)
                        .map(|i| {
                            scaled[if s.dense_metric { i * d + i } else { i }]
                                + reg * chain.reference_scale[i]
                        })
                        .collect();
                    let metric = if s.dense_metric {
                        let mut cov = scaled;
                        for i in 0..d {
                            cov[i * d + i] += reg * chain.reference_scale[i];
                        }
                        // a window too short for a full covariance falls back to the diagonal
                        Metric::dense(&cov, d).unwrap_or_else(|| Metric::diagonal(&diag))
                    } else {
                        Metric::diagonal(&diag)
                    };
                    chain.metric = metric;
                    n_acc = 0;
                    m_acc.iter_mut().for_each(|v| *v = 0.0);
                    v_acc.iter_mut().for_each(|v| *v = 0.0);
                    chain.init_step_size();
                    mu = (10.0 * chain.eps).ln();
                    s_bar = 0.0;
                    x_bar = 0.0;
                    counter = 0.0;
                }
            }
            if it + 1 == s.tune {
                chain.eps = x_bar.exp();
            }
        }
        on_draw(it, tuning, &chain.current.q, &st);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    struct Gauss {
        sd: Vec<f64>,
    }
    impl LogDensity for Gauss {
        fn dim(&self) -> usize {
            self.sd.len()
        }
        fn logp_grad(&mut self, q: &[f64], g: &mut [f64]) -> f64 {
            let mut l = 0.0;
            for i in 0..q.len() {
                let z = q[i] / self.sd[i];
                l -= 0.5 * z * z;
                g[i] = -q[i] / (self.sd[i] * self.sd[i]);
            }
            l
        }
    }

    /// `N(0, Σ)` with `Σ_ij = s_i·s_j·ρ^|i−j|`.
    struct Correlated {
        prec: Vec<f64>,
        d: usize,
    }
    impl LogDensity for Correlated {
        fn dim(&self) -> usize {
            self.d
        }
        fn logp_grad(&mut self, q: &[f64], g: &mut [f64]) -> f64 {
            let d = self.d;
            let mut l = 0.0;
            for i in 0..d {
                g[i] = -(0..d).map(|j| self.prec[i * d + j] * q[j]).sum::<f64>();
                l += 0.5 * q[i] * g[i];
            }
            l
        }
    }

    fn correlated(d: usize, rho: f64) -> (Vec<f64>, Correlated) {
        let s: Vec<f64> = (0..d).map(|i| 10f64.powi(i as i32 - 2)).collect();
        let cov: Vec<f64> = (0..d * d)
            .map(|k| s[k / d] * s[k % d] * rho.powi((k / d).abs_diff(k % d) as i32))
            .collect();
        // precision by Cholesky inversion
        let l = cholesky(&cov, d).unwrap();
        let mut linv = vec![0.0; d * d];
        for c in 0..d {
            for i in 0..d {
                let mut v = if i == c { 1.0 } else { 0.0 };
                for k in 0..i {
                    v -= l[i * d + k] * linv[k * d + c];
                }
                linv[i * d + c] = v / l[i * d + i];
            }
        }
        let prec = (0..d * d)
            .map(|k| {
                (0..d)
                    .map(|m| linv[m * d + k / d] * linv[m * d + k % d])
                    .sum()
            })
            .collect();
        (cov, Correlated { prec, d })
    }

    #[test]
    fn dense_metric_learns_a_correlated_gaussian() {
        let d = 5;
        let (cov, f) = correlated(d, 0.95);
        let settings = NutsSettings {
            dense_metric: true,
            ..Default::default()
        };
        let mut chain = Chain::new(f, &[0.0; 5], settings, ChaCha8Rng::seed_from_u64(3));
        let (mut draws, mut leapfrogs, mut div) = (vec![], 0, 0);
        run(&mut chain, |_, tuning, q, st| {
            if !tuning {
                draws.push(q.to_vec());
                leapfrogs += st.n_leapfrog;
                div += st.diverging as usize;
            }
        });
        assert_eq!(div, 0);
        assert!(chain.metric().is_dense());
        // the adapted metric is the covariance: trajectories stay short (a diagonal metric
        // needs ~1/√(1 − ρ²) ≈ 3× longer ones here)
        let mean_leapfrogs = leapfrogs as f64 / draws.len() as f64;
        assert!(mean_leapfrogs < 8.0, "mean leapfrogs {mean_leapfrogs}");
        let n = draws.len() as f64;
        for i in 0..d {
            for j in 0..d {
                let c = draws.iter().map(|q| q[i] * q[j]).sum::<f64>() / n;
                let want = cov[i * d + j];
                let scale = (cov[i * d + i] * cov[j * d + j]).sqrt();
                assert!(
                    (c - want).abs() < 0.15 * scale,
                    "cov[{i}][{j}] {c} vs {want}"
                );
            }
        }
    }

    #[test]
    fn metric_regularization_follows_the_starting_scale() {
        // a coordinate with sd 1e-5: Stan's absolute 1e-3 regularizer would swamp it
        let sd = vec![1e-5, 1.0];
        let f = Gauss { sd: sd.clone() };
        let mut chain = Chain::new(
            f,
            &[0.0, 0.0],
            NutsSettings::default(),
            ChaCha8Rng::seed_from_u64(5),
        );
        chain.set_metric(Metric::diagonal(&[1e-10, 1.0]));
        run(&mut chain, |_, _, _, _| {});
        let v = chain.metric().variances();
        assert!((v[0] / 1e-10 - 1.0).abs() < 0.3, "variance {}", v[0]);
        assert!(chain.step_size() > 0.3, "step size {}", chain.step_size());
    }

    #[test]
    fn windows_match_stan() {
        assert_eq!(
            adaptation_windows(1000),
            vec![(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]
        );
    }

    #[test]
    fn samples_an_anisotropic_gaussian() {
        let sd = vec![0.01, 1.0, 10.0, 100.0];
        let f = Gauss { sd: sd.clone() };
        let mut chain = Chain::new(
            f,
            &[0.0, 0.5, 1.0, 2.0],
            NutsSettings::default(),
            ChaCha8Rng::seed_from_u64(1),
        );
        let mut draws = vec![vec![]; 4];
        let mut div = 0;
        run(&mut chain, |_, tuning, q, st| {
            if !tuning {
                for i in 0..4 {
                    draws[i].push(q[i]);
                }
                div += st.diverging as usize;
            }
        });
        assert_eq!(div, 0);
        for i in 0..4 {
            let m = draws[i].iter().sum::<f64>() / draws[i].len() as f64;
            let v = draws[i].iter().map(|x| (x - m) * (x - m)).sum::<f64>() / draws[i].len() as f64;
            assert!(
                (v.sqrt() / sd[i] - 1.0).abs() < 0.15,
                "dim {i}: sd {} vs {}",
                v.sqrt(),
                sd[i]
            );
            assert!(m.abs() < 0.2 * sd[i], "dim {i}: mean {m}");
        }
    }
}

#[cfg(test)]
mod ridge_tests {
    use super::*;
    use rand::SeedableRng;

    /// A curved ridge like a saturation's rate against its coefficient: on `u = ln λ`,
    /// `v = ln β` with `λ ~ Gamma(3, 1)`, `β ~ HalfNormal(2)` and a likelihood that only sees
    /// the product, `λ·β ~ N(c, s)` (log-Jacobians included).
    struct Ridge {
        c: f64,
        s: f64,
    }
    impl Ridge {
        fn logp(&self, u: f64, v: f64) -> f64 {
            let (lam, beta) = (u.exp(), v.exp());
            let r = (lam * beta - self.c) / self.s;
            2.0 * lam.ln() - lam + u - beta * beta / 8.0 + v - 0.5 * r * r
        }
    }
    impl LogDensity for Ridge {
        fn dim(&self) -> usize {
            2
        }
        fn logp_grad(&mut self, q: &[f64], g: &mut [f64]) -> f64 {
            let (lam, beta) = (q[0].exp(), q[1].exp());
            let r = (lam * beta - self.c) / self.s;
            let dr = -r / self.s * lam * beta;
            g[0] = 3.0 - lam + dr;
            g[1] = 1.0 - beta * beta / 4.0 + dr;
            self.logp(q[0], q[1])
        }
    }

    /// Quantiles of `u`'s marginal by quadrature on a fine grid.
    fn grid_quantiles(f: &Ridge, probs: &[f64]) -> Vec<f64> {
        let (n, lo, hi) = (1500, -6.0, 4.0);
        let h = (hi - lo) / n as f64;
        let grid: Vec<f64> = (0..n).map(|i| lo + (i as f64 + 0.5) * h).collect();
        let mut marginal: Vec<f64> = grid
            .iter()
            .map(|&u| grid.iter().map(|&v| f.logp(u, v).exp()).sum::<f64>())
            .collect();
        let total: f64 = marginal.iter().sum();
        marginal.iter_mut().for_each(|m| *m /= total);
        probs
            .iter()
            .map(|&p| {
                let mut acc = 0.0;
                for (i, m) in marginal.iter().enumerate() {
                    if acc + m >= p {
                        return grid[i] - h / 2.0 + h * (p - acc) / m;
                    }
                    acc += m;
                }
                hi
            })
            .collect()
    }

    /// The sampler's tail quantiles on the curved ridge equal the quadrature's (to 0.1 on
    /// `ln λ`, about 3 Monte Carlo standard errors of a 1% quantile from 16,000 draws), with
    /// the dense and the diagonal metric: the geometry of `bayesian_mmm`'s saturation rates.
    #[test]
    fn samples_the_tail_of_a_curved_ridge() {
        let probs = [0.01, 0.03, 0.5, 0.97];
        let target = Ridge { c: 0.85, s: 0.02 };
        let want = grid_quantiles(&target, &probs);
        for dense in [true, false] {
            let mut all = vec![];
            let mut div = 0;
            for seed in 0..4 {
                let settings = NutsSettings {
                    dense_metric: dense,
                    tune: 1000,
                    draws: 4000,
                    ..Default::default()
                };
                let f = Ridge { c: 0.85, s: 0.02 };
                let mut chain =
                    Chain::new(f, &[1.0, -0.2], settings, ChaCha8Rng::seed_from_u64(seed));
                run(&mut chain, |_, tuning, q, st| {
                    if !tuning {
                        all.push(q[0]);
                        div += st.diverging as usize;
                    }
                });
            }
            all.sort_by(|a, b| a.total_cmp(b));
            let got: Vec<f64> = probs
                .iter()
                .map(|p| all[(p * all.len() as f64) as usize])
                .collect();
            for ((p, g), w) in probs.iter().zip(&got).zip(&want) {
                assert!(
                    (g - w).abs() < 0.1,
                    "dense {dense}: quantile {p} of ln λ {g} vs quadrature {w}"
                );
            }
        }
    }
}
