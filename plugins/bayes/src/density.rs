//! The log posterior density of the Bayesian MMM on the unconstrained space, with its analytic
//! gradient, evaluated without allocating (every buffer belongs to the density, one per chain).
//!
//! # Formula
//! ```text
//! μ_t   = Σ_j γ_j·z_tj + Σ_i β_i·f_i(x̃_i; θ_i)_t                  (x̃ = scaled spend)
//! r_t   = ỹ_t − μ_t                                                  (ỹ = scaled target)
//! normal:     ℓ = Σ_t −log σ − ½·log 2π − ½·r_t²/σ²,   ∂ℓ/∂μ_t = r_t/σ²,
//!             ∂ℓ/∂σ = Σ_t (r_t² − σ²)/σ³
//! student-t:  ℓ = Σ_t c(ν) − log σ − (ν+1)/2·log(1 + r_t²/(νσ²)),
//!             ∂ℓ/∂μ_t = (ν+1)·r_t/(νσ² + r_t²),   ∂ℓ/∂σ = Σ_t −1/σ + (ν+1)·r_t²/(σ·(νσ² + r_t²))
//! ∂ℓ/∂γ_j   = Σ_t g_t·z_tj,   ∂ℓ/∂β_i = Σ_t g_t·f_it,   ∂ℓ/∂θ_ip = β_i·Σ_t g_t·∂f_it/∂θ_ip
//! lift tests (calibration), test k on media term i over periods R_k with counterfactual x̃'_k:
//!   λ_k = β_i·D_k,   D_k = Σ_{t∈R_k} [f_i(x̃'_k; θ_i)_t − f_i(x̃_i; θ_i)_t]
//!   ℓ  += Σ_k −log s_k − ½·log 2π − ½·(L_k − λ_k)²/s_k²      (L_k, s_k: lift and its SE / s_y)
//!   ∂ℓ/∂β_i += Σ_k (L_k − λ_k)/s_k²·D_k,   ∂ℓ/∂θ_ip += Σ_k (L_k − λ_k)/s_k²·β_i·∂D_k/∂θ_ip
//! log π(u)  = ℓ + Σ_k [log p_k(x_k) + log|dx_k/du_k|],   x_k = T_k(u_k)
//! ∂/∂u_k    = (∂ℓ/∂x_k + p_k'(x_k)/p_k(x_k))·dx_k/du_k + d log|dx_k/du_k|/du_k
//! ```
//! with `g_t = ∂ℓ/∂μ_t` and `∂f/∂θ` from `TransformChain::apply_d_params` (forward mode through
//! the chain; no finite differences).

use crate::nuts::LogDensity;
use crate::prior::{Bijector, Prior};
use mmm_core::transform::{ChainWorkspace, TransformChain};

/// What a sampled parameter is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// Parameter `p` of media channel `k`'s chain.
    Transform {
        /// Media index (in the model's media list).
        media: usize,
        /// Parameter index in the chain.
        param: usize,
    },
    /// Coefficient of media channel `k`.
    MediaCoef(usize),
    /// Coefficient of non-media regressor `j`.
    Coef(usize),
    /// Noise scale.
    Sigma,
}

/// What media term `i`'s sampled coefficient parameter is.
///
/// # Formula
/// ```text
/// coefficient:  β_i = q_i
/// roi, share:   β_i = c_i·q_i / F_i(θ_i),   F_i = Σ_t f_i(x̃_i; θ_i)_t
/// ∂β_i/∂q_i = c_i/F_i,   ∂β_i/∂θ_ip = −β_i/F_i·Σ_t ∂f_it/∂θ_ip
/// ```
/// With `c_i = S_i / s_y` (total raw spend over the target scale) `q_i` is the channel's ROI
/// (`s_y·β_i·F_i / S_i`); with `c_i = Σ_t ỹ_t` it is the channel's share of the total KPI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CoefMode {
    /// The coefficient itself is sampled.
    Coefficient,
    /// The coefficient is `c·q/F(θ)` for the sampled `q` (ROI or contribution share).
    Ratio(f64),
}

/// One sampled parameter: its name, what it is (`S`: [`Slot`] in the national model,
/// `GeoSlot` in the geo model), prior and bijector.
#[derive(Debug, Clone)]
pub struct Param<S = Slot> {
    /// Reported name.
    pub name: String,
    /// What it is.
    pub slot: S,
    /// Its prior.
    pub prior: Box<dyn Prior>,
    /// The map from the real line onto its support (prior support ∩ valid range).
    pub bijector: Bijector,
}

/// A media channel of the density.
#[derive(Debug, Clone)]
pub struct MediaTerm {
    /// Scaled spend.
    pub x: Vec<f64>,
    /// The chain (data-dependent constants learned on the scaled spend).
    pub chain: TransformChain,
    /// Number of chain parameters.
    pub n_params: usize,
    /// What the sampled coefficient parameter is.
    pub mode: CoefMode,
    /// Whether the sampled coefficient parameter is the mean contribution `q = β·f̄` while the
    /// prior is on `β` (see [`MmmDensity::sample_mean_contributions`]); the constrained value
    /// (draws, [`MmmDensity::mean`]) is then `β` itself.
    pub sampled_mean: bool,
    /// The chain's parameter values as the spec gives them (chain order): the chains' initial
    /// point where they lie inside the parameter's prior support.
    pub initial: Vec<f64>,
    ws: ChainWorkspace,
    f: Vec<f64>,
    df: Vec<f64>,
    theta: Vec<f64>,
}

impl MediaTerm {
    /// A media term on scaled spend `x` with a learned chain.
    pub fn new(x: Vec<f64>, chain: TransformChain) -> Self {
        let n = x.len();
        let np = chain.n_params();
        let ws = ChainWorkspace::new(&chain, n);
        let mut theta = vec![0.0; np];
        chain.get_params(&mut theta);
        MediaTerm {
            x,
            chain,
            n_params: np,
            mode: CoefMode::Coefficient,
            sampled_mean: false,
            initial: theta.clone(),
            ws,
            f: vec![0.0; n],
            df: vec![0.0; np * n],
            theta,
        }
    }

    /// The coefficient `β` for the sampled value `q` of its parameter at the current `f`
    /// (see [`CoefMode`]); NaN when `F ≤ 0` under a ratio mode.
    fn beta(&self, q: f64) -> f64 {
        match self.mode {
            CoefMode::Coefficient => q,
            CoefMode::Ratio(c) => {
                let total: f64 = self.f.iter().sum();
                if total > 0.0 {
                    c * q / total
                } else {
                    f64::NAN
                }
            }
        }
    }

    /// The coefficient `β` for the constrained value `x` of its parameter (`x` itself when
    /// `sampled_mean`, whose constrained value is `β`).
    fn beta_of_constrained(&self, x: f64) -> f64 {
        if self.sampled_mean {
            x
        } else {
            self.beta(x)
        }
    }

    /// `f(x̃; θ)` for parameters `theta` (chain order), written to `out`.
    pub fn apply(&mut self, theta: &[f64], out: &mut [f64]) {
        self.chain.set_params(theta);
        self.chain.apply(&self.x, out, &mut self.ws);
    }
}

/// A lift test as a likelihood term of the density (see the module formula): the measured
/// lift `L` and its standard error `s` (both over the target scale), the media term, the
/// scaled counterfactual spend and the periods `[from, until)` the lift sums over.
#[derive(Debug, Clone)]
pub struct LiftTerm {
    /// Index of the media term tested.
    pub media: usize,
    /// Scaled counterfactual spend `x̃'` (all periods).
    pub x: Vec<f64>,
    /// First period summed.
    pub from: usize,
    /// End (exclusive) of the periods summed.
    pub until: usize,
    /// Measured lift over the target scale.
    pub lift: f64,
    /// Its standard error over the target scale.
    pub sd: f64,
    f: Vec<f64>,
    df: Vec<f64>,
}

impl LiftTerm {
    /// A lift term for media term `media` (with `n_params` chain parameters).
    pub fn new(
        media: usize,
        n_params: usize,
        x: Vec<f64>,
        (from, until): (usize, usize),
        lift: f64,
        sd: f64,
    ) -> Self {
        let n = x.len();
        LiftTerm {
            media,
            x,
            from,
            until: until.min(n),
            lift,
            sd,
            f: vec![0.0; n],
            df: vec![0.0; n_params * n],
        }
    }
}

/// `log Γ((ν+1)/2) − log Γ(ν/2) − ½·log(νπ)`: the constant of the Student-t log density with
/// `ν` degrees of freedom (before `−log σ`).
pub(crate) fn student_t_norm(nu: f64) -> f64 {
    crate::prior::ln_gamma(0.5 * (nu + 1.0))
        - crate::prior::ln_gamma(0.5 * nu)
        - 0.5 * (nu * std::f64::consts::PI).ln()
}

/// The likelihood family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// Normal noise.
    Normal,
    /// Student-t noise with `ν` degrees of freedom.
    StudentT(f64),
}

/// The log posterior of the Bayesian MMM.
#[derive(Debug, Clone)]
pub struct MmmDensity {
    /// Scaled target.
    pub y: Vec<f64>,
    /// Non-media regressors, one vector per column.
    pub z: Vec<Vec<f64>>,
    /// Media terms.
    pub media: Vec<MediaTerm>,
    /// Sampled parameters, in vector order.
    pub params: Vec<Param>,
    /// Likelihood family.
    pub family: Family,
    /// Gradient evaluations so far.
    pub evaluations: u64,
    /// Each media term's coefficient `β_i` at the last [`MmmDensity::mean`] call.
    pub beta: Vec<f64>,
    /// Lift tests fitted with the data (calibration).
    pub lifts: Vec<LiftTerm>,
    /// Per column of `z`, the centre `c_j` subtracted from the design column before sampling
    /// (`z_tj = (x_tj − c_j)/s_j`; 0 where the column is used as given).
    pub z_center: Vec<f64>,
    /// Per column of `z`, the scale `s_j` the design column was divided by (1 where the
    /// column is used as given).
    pub z_scale: Vec<f64>,
    /// The column of `z` that is the intercept, when the sampled intercept parameter is the
    /// KPI level at the media's mean contributions (see [`MmmDensity::center_media_on`]).
    pub level: Option<usize>,
    pt: PriorTerms,
    mu: Vec<f64>,
    g: Vec<f64>,
    // index maps
    media_coef: Vec<usize>,
    media_theta: Vec<Vec<usize>>,
    coef: Vec<usize>,
    sigma: usize,
}

impl MmmDensity {
    /// Assembles the density; `params` must contain one `Sigma`, one `MediaCoef` per media term,
    /// every chain parameter, and one `Coef` per column of `z`.
    pub fn new(
        y: Vec<f64>,
        z: Vec<Vec<f64>>,
        media: Vec<MediaTerm>,
        params: Vec<Param>,
        family: Family,
    ) -> Self {
        let n = y.len();
        let d = params.len();
        let nz = z.len();
        let mut media_coef = vec![0; media.len()];
        let mut media_theta: Vec<Vec<usize>> = media.iter().map(|m| vec![0; m.n_params]).collect();
        let mut coef = vec![0; z.len()];
        let mut sigma = 0;
        for (k, p) in params.iter().enumerate() {
            match p.slot {
                Slot::Transform { media, param } => media_theta[media][param] = k,
                Slot::MediaCoef(m) => media_coef[m] = k,
                Slot::Coef(j) => coef[j] = k,
                Slot::Sigma => sigma = k,
            }
        }
        MmmDensity {
            y,
            z,
            media,
            params,
            family,
            evaluations: 0,
            beta: vec![0.0; media_coef.len()],
            lifts: Vec::new(),
            z_center: vec![0.0; nz],
            z_scale: vec![1.0; nz],
            level: None,
            pt: PriorTerms::new(d),
            mu: vec![0.0; n],
            g: vec![0.0; n],
            media_coef,
            media_theta,
            coef,
            sigma,
        }
    }

    /// Samples the intercept (column `j` of `z`, a column of ones with an unbounded prior) as
    /// the KPI level at every media term's mean contribution, which the media terms no longer
    /// shift: a reparameterization of the same posterior (unit Jacobian), whose media terms enter
    /// the likelihood centred.
    ///
    /// # Formula
    /// ```text
    /// sampled ℓ' (the level),  intercept a = ℓ' − Σ_i β_i·f̄_i,   f̄_i = mean_t f_i(x̃_i; θ_i)_t
    /// μ_t = ℓ' + Σ_{j≠intercept} γ_j·z_tj + Σ_i β_i·(f_it − f̄_i)
    /// log π = ℓ(μ) + log p_a(a) + Σ_{k≠intercept} [log p_k(x_k) + log|dx_k/du_k|]
    /// ∂/∂c_it = g_t − (G + h)/n    (c_it = β_i·f_it,  G = Σ_t g_t,  h = p_a'(a)/p_a(a))
    /// ∂/∂ℓ' = G + h
    /// ```
    /// `(ℓ', β, θ) ↦ (a, β, θ)` is triangular with a unit diagonal, so no Jacobian term enters.
    /// Returns whether it applies (the intercept's bijector is the identity); the compatibility
    /// presets do not call it, so their log density is unchanged.
    pub fn center_media_on(&mut self, j: usize) -> bool {
        let ok = j < self.z.len()
            && self.z[j].iter().all(|v| *v == 1.0)
            && self.params[self.coef[j]].bijector == Bijector::Identity;
        self.level = ok.then_some(j);
        ok
    }

    /// Samples each coefficient-mode media term's coefficient as its mean contribution
    /// `q_i = β_i·f̄_i` while its prior stays on `β_i` (positive, log bijector): a
    /// reparameterization of the same posterior that removes the curved ridge along which `β`
    /// and the saturation parameters trade off (the data fix the contribution, not `β`).
    ///
    /// # Formula
    /// ```text
    /// u = log q,  β = q/f̄(θ) = n·q/F(θ)  (F = Σ_t f_t),  log β = u − log f̄(θ)
    /// log π(u, θ) = … + log p_β(β) + log β           ((u, θ) ↦ (log β, θ) has a unit Jacobian)
    /// ∂/∂u  (prior part) = β·p_β'(β)/p_β(β) + 1
    /// ∂/∂θ_p (prior part) = −(β·p_β'(β)/p_β(β) + 1)·Σ_t ∂f_t/∂θ_p / F
    /// ```
    /// The likelihood's gradient is the ratio mode's (`CoefMode::Ratio(n)`). Returns how many
    /// terms it applies to (coefficient mode with a log bijector on `(0, ∞)`).
    pub fn sample_mean_contributions(&mut self) -> usize {
        let n = self.y.len() as f64;
        let mut count = 0;
        for (i, m) in self.media.iter_mut().enumerate() {
            let k = self.media_coef[i];
            if m.mode == CoefMode::Coefficient
                && self.params[k].bijector == Bijector::Lower(0.0)
                && n > 0.0
            {
                m.mode = CoefMode::Ratio(n);
                m.sampled_mean = true;
                count += 1;
            }
        }
        count
    }

    /// Constrained values `x = T(u)` of every parameter: the intercept, not the level, when
    /// [`MmmDensity::center_media_on`] applies, and `β`, not the mean contribution, under
    /// [`MmmDensity::sample_mean_contributions`].
    pub fn constrain(&self, u: &[f64], out: &mut [f64]) {
        for (k, p) in self.params.iter().enumerate() {
            out[k] = p.bijector.forward(u[k]).x;
        }
        if self.level.is_none() && !self.media.iter().any(|m| m.sampled_mean) {
            return;
        }
        let mut shift = 0.0;
        for (i, m) in self.media.iter().enumerate() {
            let mut m = m.clone();
            for (p, &k) in self.media_theta[i].iter().enumerate() {
                m.theta[p] = out[k];
            }
            m.chain.set_params(&m.theta);
            m.chain.apply(&m.x, &mut m.f, &mut m.ws);
            let kb = self.media_coef[i];
            let b = m.beta(out[kb]);
            if m.sampled_mean {
                out[kb] = b;
            }
            shift += b * m.f.iter().sum::<f64>() / m.f.len().max(1) as f64;
        }
        if let Some(j) = self.level {
            out[self.coef[j]] -= shift;
        }
    }

    /// Expected scaled target `μ` for constrained parameters `x`, written to `out`; also
    /// writes each media term's scaled contribution `β_i·f_i` into `contrib[i]`.
    pub fn mean(&mut self, x: &[f64], out: &mut [f64], contrib: &mut [Vec<f64>]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        for (j, zj) in self.z.iter().enumerate() {
            let c = x[self.coef[j]];
            for (o, v) in out.iter_mut().zip(zj) {
                *o += c * v;
            }
        }
        for (i, m) in self.media.iter_mut().enumerate() {
            for (p, &k) in self.media_theta[i].iter().enumerate() {
                m.theta[p] = x[k];
            }
            m.chain.set_params(&m.theta);
            m.chain.apply(&m.x, &mut m.f, &mut m.ws);
            let b = m.beta_of_constrained(x[self.media_coef[i]]);
            self.beta[i] = b;
            for t in 0..out.len() {
                contrib[i][t] = b * m.f[t];
                out[t] += contrib[i][t];
            }
        }
    }

    /// The log-likelihood of observation `t` (scaled target) given its mean and the noise scale.
    pub fn point_log_lik(&self, t: usize, mu: f64, sigma: f64) -> f64 {
        let r = self.y[t] - mu;
        match self.family {
            Family::Normal => {
                -sigma.ln() - crate::prior::HALF_LN_2PI - 0.5 * r * r / (sigma * sigma)
            }
            Family::StudentT(nu) => {
                student_t_norm(nu)
                    - sigma.ln()
                    - 0.5 * (nu + 1.0) * (r * r / (nu * sigma * sigma)).ln_1p()
            }
        }
    }

    /// Each lift term's model lift `λ_k = β_i·D_k` (scaled target units) at constrained
    /// parameters `x`, written to `out` (one per term).
    pub fn model_lifts(&mut self, x: &[f64], out: &mut [f64]) {
        for (i, m) in self.media.iter_mut().enumerate() {
            for (p, &k) in self.media_theta[i].iter().enumerate() {
                m.theta[p] = x[k];
            }
            m.chain.set_params(&m.theta);
            m.chain.apply(&m.x, &mut m.f, &mut m.ws);
            self.beta[i] = m.beta_of_constrained(x[self.media_coef[i]]);
        }
        for (o, l) in out.iter_mut().zip(self.lifts.iter_mut()) {
            let m = &mut self.media[l.media];
            m.chain.apply(&l.x, &mut l.f, &mut m.ws);
            let d: f64 = (l.from..l.until).map(|t| l.f[t] - m.f[t]).sum();
            *o = self.beta[l.media] * d;
        }
    }

    /// Index of the noise scale in the parameter vector.
    pub fn sigma_index(&self) -> usize {
        self.sigma
    }
    /// Index of media term `i`'s coefficient.
    pub fn media_coef_index(&self, i: usize) -> usize {
        self.media_coef[i]
    }
    /// Indices of media term `i`'s chain parameters.
    pub fn media_theta_indices(&self, i: usize) -> &[usize] {
        &self.media_theta[i]
    }
    /// Index of non-media column `j`'s coefficient.
    pub fn coef_index(&self, j: usize) -> usize {
        self.coef[j]
    }
}

/// The prior and change-of-variables part of a log density on the unconstrained space, shared
/// by the national and the geo model: per parameter `k` the constrained value `x_k = T_k(u_k)`,
/// `dx_k/du_k`, `d log|dx_k/du_k| / du_k` and the running `∂ log π/∂x_k` (prior term first;
/// the likelihood adds its own).
///
/// # Formula
/// ```text
/// log π(u) = ℓ(x) + Σ_k [log p_k(x_k) + log|dx_k/du_k|]
/// ∂/∂u_k   = (∂ℓ/∂x_k + p_k'(x_k)/p_k(x_k))·dx_k/du_k + d log|dx_k/du_k|/du_k
/// ```
#[derive(Debug, Clone)]
pub struct PriorTerms {
    /// Constrained values.
    pub x: Vec<f64>,
    /// `dx/du`.
    pub dx_du: Vec<f64>,
    /// `d log|dx/du| / du`.
    pub dlj: Vec<f64>,
    /// `∂ log π / ∂x`, accumulated.
    pub gx: Vec<f64>,
}

impl PriorTerms {
    /// Buffers for `d` parameters.
    pub fn new(d: usize) -> Self {
        PriorTerms {
            x: vec![0.0; d],
            dx_du: vec![0.0; d],
            dlj: vec![0.0; d],
            gx: vec![0.0; d],
        }
    }

    /// Constrains `u` and sums the log priors and log Jacobians; `None` when any is not finite
    /// (the point is outside the posterior's support).
    pub fn evaluate<S>(&mut self, params: &[Param<S>], u: &[f64]) -> Option<f64> {
        let mut lp = 0.0;
        for (k, p) in params.iter().enumerate() {
            let m = p.bijector.forward(u[k]);
            let l = p.prior.log_density(m.x);
            if !l.is_finite() || !m.x.is_finite() {
                return None;
            }
            lp += l + m.log_jac;
            self.x[k] = m.x;
            self.dx_du[k] = m.dx_du;
            self.dlj[k] = m.d_log_jac;
            self.gx[k] = p.prior.d_log_density(m.x);
        }
        Some(lp)
    }

    /// The gradient in `u` from the accumulated `∂ log π/∂x`.
    pub fn gradient(&self, grad: &mut [f64]) {
        for (k, g) in grad.iter_mut().enumerate() {
            *g = self.gx[k] * self.dx_du[k] + self.dlj[k];
        }
    }
}

impl LogDensity for MmmDensity {
    fn dim(&self) -> usize {
        self.params.len()
    }

    fn logp_grad(&mut self, u: &[f64], grad: &mut [f64]) -> f64 {
        self.evaluations += 1;
        let n = self.y.len();
        let Some(mut lp) = self.pt.evaluate(&self.params, u) else {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return f64::NEG_INFINITY;
        };
        // mean
        let mut shift = 0.0;
        let mu = &mut self.mu;
        mu.iter_mut().for_each(|v| *v = 0.0);
        for (j, zj) in self.z.iter().enumerate() {
            let c = self.pt.x[self.coef[j]];
            for (o, v) in mu.iter_mut().zip(zj) {
                *o += c * v;
            }
        }
        for (i, m) in self.media.iter_mut().enumerate() {
            for (p, &k) in self.media_theta[i].iter().enumerate() {
                m.theta[p] = self.pt.x[k];
            }
            m.chain.set_params(&m.theta);
            m.chain.apply_d_params(&m.x, &mut m.f, &mut m.df, &mut m.ws);
            let b = m.beta(self.pt.x[self.media_coef[i]]);
            if !b.is_finite() {
                grad.iter_mut().for_each(|g| *g = 0.0);
                return f64::NEG_INFINITY;
            }
            self.beta[i] = b;
            if m.sampled_mean {
                // prior on β = q/f̄ instead of on q (see `sample_mean_contributions`)
                let k = self.media_coef[i];
                let prior = &self.params[k].prior;
                let q = self.pt.x[k];
                let lb = prior.log_density(b);
                if !lb.is_finite() {
                    grad.iter_mut().for_each(|g| *g = 0.0);
                    return f64::NEG_INFINITY;
                }
                lp += lb + b.ln() - prior.log_density(q) - q.ln();
                let hb = prior.d_log_density(b) * b + 1.0;
                self.pt.gx[k] = (hb - 1.0) / q;
                let total: f64 = m.f.iter().sum();
                for (p, &kt) in self.media_theta[i].iter().enumerate() {
                    let dsum: f64 = m.df[p * n..(p + 1) * n].iter().sum();
                    self.pt.gx[kt] -= hb * dsum / total;
                }
            }
            let fbar = if self.level.is_some() {
                m.f.iter().sum::<f64>() / n as f64
            } else {
                0.0
            };
            shift += b * fbar;
            for (o, f) in mu.iter_mut().zip(&m.f) {
                *o += b * (f - fbar);
            }
        }
        // the intercept's prior at a = ℓ' − Σ β_i·f̄_i instead of at the level ℓ'
        if let Some(j) = self.level {
            let k = self.coef[j];
            let level = self.pt.x[k];
            let prior = &self.params[k].prior;
            let a = level - shift;
            let la = prior.log_density(a);
            if !la.is_finite() {
                grad.iter_mut().for_each(|g| *g = 0.0);
                return f64::NEG_INFINITY;
            }
            lp += la - prior.log_density(level);
            self.pt.gx[k] = prior.d_log_density(a);
        }
        // likelihood
        let sigma = self.pt.x[self.sigma];
        let mut ll = 0.0;
        let mut dsigma = 0.0;
        match self.family {
            Family::Normal => {
                let inv2 = 1.0 / (sigma * sigma);
                let mut ss = 0.0;
                for t in 0..n {
                    let r = self.y[t] - mu[t];
                    ss += r * r;
                    self.g[t] = r * inv2;
                }
                ll += -(n as f64) * (sigma.ln() + crate::prior::HALF_LN_2PI) - 0.5 * ss * inv2;
                dsigma += -(n as f64) / sigma + ss * inv2 / sigma;
            }
            Family::StudentT(nu) => {
                let c = student_t_norm(nu) - sigma.ln();
                let s2 = sigma * sigma;
                for t in 0..n {
                    let r = self.y[t] - mu[t];
                    let den = nu * s2 + r * r;
                    ll += c - 0.5 * (nu + 1.0) * (r * r / (nu * s2)).ln_1p();
                    self.g[t] = (nu + 1.0) * r / den;
                    dsigma += -1.0 / sigma + (nu + 1.0) * r * r / (sigma * den);
                }
            }
        }
        // lift tests: λ = β·D, ℓ += log N(L | λ, s)
        for l in self.lifts.iter_mut() {
            let i = l.media;
            let m = &mut self.media[i];
            m.chain.apply_d_params(&l.x, &mut l.f, &mut l.df, &mut m.ws);
            let d: f64 = (l.from..l.until).map(|t| l.f[t] - m.f[t]).sum();
            let b = self.beta[i];
            let r = l.lift - b * d;
            let inv2 = 1.0 / (l.sd * l.sd);
            ll += -l.sd.ln() - crate::prior::HALF_LN_2PI - 0.5 * r * r * inv2;
            let g = r * inv2; // ∂ℓ/∂λ
            let kb = self.media_coef[i];
            match m.mode {
                CoefMode::Coefficient => {
                    self.pt.gx[kb] += g * d;
                    for (p, &k) in self.media_theta[i].iter().enumerate() {
                        let (a, c) = (&l.df[p * n..(p + 1) * n], &m.df[p * n..(p + 1) * n]);
                        let dd: f64 = (l.from..l.until).map(|t| a[t] - c[t]).sum();
                        self.pt.gx[k] += g * b * dd;
                    }
                }
                CoefMode::Ratio(_) => {
                    // β = c·q/F: ∂λ/∂q = β/q·D, ∂λ/∂θ_p = β·(∂D/∂θ_p − D·Σ_t ∂f_t/∂θ_p / F)
                    let total: f64 = m.f.iter().sum();
                    let q = self.pt.x[kb];
                    self.pt.gx[kb] += g * b / q * d;
                    for (p, &k) in self.media_theta[i].iter().enumerate() {
                        let (a, c) = (&l.df[p * n..(p + 1) * n], &m.df[p * n..(p + 1) * n]);
                        let dd: f64 = (l.from..l.until).map(|t| a[t] - c[t]).sum();
                        let dsum: f64 = c.iter().sum();
                        self.pt.gx[k] += g * b * (dd - d * dsum / total);
                    }
                }
            }
        }
        if !ll.is_finite() {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return f64::NEG_INFINITY;
        }
        // gradients in the constrained space
        self.pt.gx[self.sigma] += dsigma;
        for (j, zj) in self.z.iter().enumerate() {
            let s: f64 = zj.iter().zip(&self.g).map(|(a, b)| a * b).sum();
            self.pt.gx[self.coef[j]] += s;
        }
        if let Some(j) = self.level {
            // ∂/∂c_t = g_t − (G + h)/n for the centred media terms (see `center_media_on`)
            // the level's gradient is already G + h (prior at a, plus the column of ones)
            let c = self.pt.gx[self.coef[j]] / n as f64;
            self.g.iter_mut().for_each(|v| *v -= c);
        }
        for (i, m) in self.media.iter().enumerate() {
            let kb = self.media_coef[i];
            let b = self.beta[i];
            let gf: f64 = m.f.iter().zip(&self.g).map(|(a, b)| a * b).sum();
            match m.mode {
                CoefMode::Coefficient => {
                    self.pt.gx[kb] += gf;
                    for (p, &k) in self.media_theta[i].iter().enumerate() {
                        let d = &m.df[p * n..(p + 1) * n];
                        let s: f64 = d.iter().zip(&self.g).map(|(a, b)| a * b).sum();
                        self.pt.gx[k] += b * s;
                    }
                }
                CoefMode::Ratio(_) => {
                    // β = c·q/F: ∂/∂q = β/q·G_f, ∂/∂θ_p = β·(G_p − D_p·G_f/F)
                    let total: f64 = m.f.iter().sum();
                    let q = self.pt.x[kb];
                    self.pt.gx[kb] += b / q * gf;
                    for (p, &k) in self.media_theta[i].iter().enumerate() {
                        let d = &m.df[p * n..(p + 1) * n];
                        let s: f64 = d.iter().zip(&self.g).map(|(a, b)| a * b).sum();
                        let dsum: f64 = d.iter().sum();
                        self.pt.gx[k] += b * (s - dsum * gf / total);
                    }
                }
            }
        }
        self.pt.gradient(grad);
        lp + ll
    }
}
