//! The log posterior of the geo-hierarchical Bayesian MMM (Meridian's model with coefficient
//! priors) on the unconstrained space, with its analytic gradient.
//!
//! # Formula
//! Geos `g = 1…G`, periods `t = 1…T`, per-capita scaled target `ỹ_{g,t}` and spend
//! `x̃_{g,c,t}` (each geo's series divided by its population, then by a national scale):
//! ```text
//! μ_{g,t}  = τ_g + Σ_j γ_{g,j}·z_{g,t,j} + Σ_c β_{g,c}·f_c(x̃_{g,c}; θ_c)_t
//! β_{g,c}  = exp(m_c + s_c·ε_{g,c}),    ε_{g,c} ~ N(0, 1)       (non-centred log-normal)
//! γ_{g,j}  = γ_j  (a national control),  or  γ_j + ξ_j·η_{g,j}, η_{g,j} ~ N(0, 1)  (per geo)
//! ỹ_{g,t}  ~ N(μ_{g,t}, σ_g²)        (σ_g = σ for every geo, or each geo its own)
//!            or StudentT(ν, μ_{g,t}, σ_g)   (ν fixed, [`GeoDensity::family`])
//! ```
//! The sampled intercept parameter is the geo's level at its media's mean contributions,
//! `τ'_g = τ_g + Σ_c β_{g,c}·f̄_{g,c}` (`f̄` the mean over the periods), with the media centred
//! in the mean, `μ_{g,t} = τ'_g + Σ_j γ_j·z + Σ_c β_{g,c}·(f_{g,c,t} − f̄_{g,c})`, and the
//! intercept's prior evaluated at the derived `τ_g` (a shear: unit Jacobian, the same model):
//! the level is pinned by the geo's mean KPI whatever the media effects, where `τ_g` and `β_{g,c}`
//! trade off. With `A_g = Σ_t g_{g,t} + π'(τ_g)`, the media terms below use
//! `B_{g,c} = Σ_t g_{g,t}·f_{g,c,t} − f̄_{g,c}·A_g` and `∂f/∂θ` centred the same way. A control
//! with per-geo coefficients is centred within each geo the same way (`τ'_g` also holds
//! `γ_{g,j}·z̄_{g,j}`), with `D_{g,j} = Σ_t g_{g,t}·z_{g,t,j} − z̄_{g,j}·A_g`:
//! `∂ℓ/∂γ_j = Σ_g D_{g,j}`, `∂ℓ/∂ξ_j = Σ_g η_{g,j}·D_{g,j}`, `∂ℓ/∂η_{g,j} = ξ_j·D_{g,j}`.
//!
//! `f_c` is channel `c`'s transform chain with parameters `θ_c` shared by all geos and applied to
//! each geo's series separately (carry-over never crosses from one geo into another), or, per
//! geo on request ([`GeoSlot::GeoTransform`]), with each geo's own parameters `θ_{g,c}` (then
//! read `θ_{g,c}` for `θ_c` below, and the sum over `g` in `∂ℓ/∂θ` has the one term); `m_c` is
//! the log of the median coefficient across geos and `s_c ≥ 0` its spread (Meridian's
//! `beta_m` and `eta_m`); `τ_g` the per-geo intercepts, `γ_j` national control coefficients.
//! With `r_{g,t} = ỹ_{g,t} − μ_{g,t}` and `g_{g,t} = r_{g,t}/σ_g²`:
//! ```text
//! ℓ          = Σ_{g,t} −log σ_g − ½·log 2π − ½·r²/σ_g²
//! ∂ℓ/∂σ_g    = Σ_t (r² − σ_g²)/σ_g³        (a shared σ: the sum over g)
//! ∂ℓ/∂τ_g    = Σ_t g_{g,t}                 ∂ℓ/∂γ_j = Σ_{g,t} g_{g,t}·z_{g,t,j}
//! B_{g,c}    = Σ_t g_{g,t}·f_{g,c,t}       (∂ℓ/∂β_{g,c})
//! ∂ℓ/∂m_c    = Σ_g β_{g,c}·B_{g,c}        ∂ℓ/∂s_c = Σ_g β_{g,c}·ε_{g,c}·B_{g,c}
//! ∂ℓ/∂ε_{g,c} = β_{g,c}·s_c·B_{g,c}
//! ∂ℓ/∂θ_{c,p} = Σ_g β_{g,c}·Σ_t g_{g,t}·∂f_{g,c,t}/∂θ_{c,p}
//! ```
//! and the priors and bijectors enter as in [`crate::density`]. Under Student-t noise the same
//! terms hold with `g_{g,t} = ∂ℓ/∂μ_{g,t} = (ν+1)·r/(ν·σ_g² + r²)` and
//! ```text
//! ℓ          = Σ_{g,t} log Γ((ν+1)/2) − log Γ(ν/2) − ½·log(νπ) − log σ_g − (ν+1)/2·log(1 + r²/(ν·σ_g²))
//! ∂ℓ/∂σ_g    = Σ_t −1/σ_g + (ν+1)·r²/(σ_g·(ν·σ_g² + r²))
//! ```
//!
//! # The ROI parameterization ([`GeoSlot::Roi`])
//! The sampled parameter is the channel's national ROI `r_c` instead of `m_c`, which is derived
//! so that `Σ_g C_{g,c}/S_c = r_c` ([`crate::geo_model`]'s contributions) given the spread, the
//! offsets and the transforms. With `q_g = p_g·s_y/S_c` ([`GeoMediaTerm::roi_weights`]) and
//! `F_{g,c} = Σ_t f_{g,c,t}` (uncentred):
//! ```text
//! w_{g,c}     = q_g·e^{s_c·ε_{g,c}}·F_{g,c},    m_c = log r_c − log Σ_g w_{g,c}
//! π_{g,c}     = w_{g,c}/Σ_h w_{h,c},            D_c = Σ_g β_{g,c}·B_{g,c}  (∂ℓ/∂m_c above)
//! ∂ℓ/∂r_c     = D_c/r_c
//! ∂ℓ/∂s_c    += −D_c·Σ_g π_{g,c}·ε_{g,c}
//! ∂ℓ/∂ε_{g,c} += −D_c·π_{g,c}·s_c
//! ∂ℓ/∂θ_{c,p} += −D_c·Σ_g π_{g,c}·(Σ_t ∂f_{g,c,t}/∂θ_{c,p})/F_{g,c}
//! ```
//! (the non-centred form only: the centred one has no offsets to derive `m_c` from).
//!
//! # Lift tests ([`GeoLift`])
//! A lift test of channel `c` in geos `G_l` (every geo for a national test) over periods
//! `R = [t₀, t₁)` measured `L ± se` (KPI units). With each tested geo's counterfactual scaled
//! spend `x̃'_{g,c}` and `K_g = p_g·s_y`:
//! ```text
//! Δ_g   = Σ_{t∈R} f_c(x̃'_{g,c}; θ)_t − f_c(x̃_{g,c}; θ)_t,      λ = Σ_{g∈G_l} K_g·β_{g,c}·Δ_g
//! ℓ    += −log se − ½·log 2π − ½·(L − λ)²/se²,                 h = (L − λ)/se²
//! ∂ℓ/∂β_{g,c} += h·K_g·Δ_g      (added to B_{g,c}, so it reaches m_c, s_c, ε, r_c as above)
//! ∂ℓ/∂θ_p    += h·Σ_g K_g·β_{g,c}·Σ_{t∈R} (∂f'_{g,t}/∂θ_p − ∂f_{g,t}/∂θ_p)
//! ``` The non-centred form keeps the
//! funnel between `s_c` and the `ε_{g,c}` out of the sampler's way when geos carry little
//! information each (Betancourt & Girolami 2015), as Meridian does.

use crate::density::{Family, PriorTerms};
use crate::nuts::LogDensity;
use mmm_core::sums::{dot, sum};
use mmm_core::transform::{ChainWorkspace, TransformChain};

/// What a sampled parameter of the geo model is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GeoSlot {
    /// Parameter `param` of channel `media`'s chain (shared by all geos).
    Transform {
        /// Channel index.
        media: usize,
        /// Parameter index in the chain.
        param: usize,
    },
    /// Parameter `param` of geo `geo`'s own chain for channel `media` (per-geo transforms,
    /// `θ_{g,c}`: see the module docs). A channel has either every parameter shared
    /// (`Transform`) or every parameter of every geo as `GeoTransform`.
    GeoTransform {
        /// Channel index.
        media: usize,
        /// Parameter index in the chain.
        param: usize,
        /// Geo index.
        geo: usize,
    },
    /// `m_c`: log of channel `c`'s median coefficient across geos.
    EffectLogMedian(usize),
    /// `r_c`: channel `c`'s national ROI (the ROI parameterization, in place of
    /// `EffectLogMedian`): `m_c` is derived so that the national ROI is `r_c` (module docs).
    /// The channel's [`GeoMediaTerm::roi_weights`] must be set.
    Roi(usize),
    /// `s_c`: spread of channel `c`'s log coefficients across geos.
    EffectSpread(usize),
    /// `ε_{g,c}`: geo `geo`'s standardized offset of channel `media`.
    EffectOffset {
        /// Channel index.
        media: usize,
        /// Geo index.
        geo: usize,
    },
    /// `b_{g,c} = log β_{g,c}` itself (the centred form, see the module docs): geo `geo`'s log
    /// coefficient of channel `media`, with the hierarchical prior `N(m_c, s_c)` added by the
    /// density (its own prior must be flat, [`crate::priors::flat::Flat`]).
    EffectLog {
        /// Channel index.
        media: usize,
        /// Geo index.
        geo: usize,
    },
    /// `τ_g`: geo `g`'s intercept.
    Intercept(usize),
    /// `γ_j`: national coefficient of control column `j` (with per-geo coefficients, their
    /// mean across geos).
    Coef(usize),
    /// `ξ_j`: spread of control column `j`'s per-geo coefficients around `γ_j` (the column then
    /// has one coefficient per geo, `γ_{g,j} = γ_j + ξ_j·η_{g,j}`; Meridian's `xi_c`).
    CoefSpread(usize),
    /// `η_{g,j}`: geo `geo`'s standardized offset of control column `coef`.
    CoefOffset {
        /// Control column index.
        coef: usize,
        /// Geo index.
        geo: usize,
    },
    /// `σ`: the noise scale shared by every geo.
    Sigma,
    /// `σ_g`: geo `g`'s own noise scale (Meridian's `unique_sigma_for_each_geo`).
    GeoSigma(usize),
}

/// One sampled parameter of the geo model.
pub type GeoParam = crate::density::Param<GeoSlot>;

/// A lift test in the geo density (module docs, "Lift tests").
#[derive(Debug, Clone)]
pub struct GeoLift {
    /// Channel index.
    pub media: usize,
    /// The tested geos.
    pub geos: Vec<usize>,
    /// Per tested geo, its counterfactual scaled spend `x̃'_{g,c}` (all periods).
    pub counterfactual: Vec<Vec<f64>>,
    /// Per tested geo, `K_g = p_g·s_y` (the geo's scale back to KPI units).
    pub weights: Vec<f64>,
    /// First period the lift sums over.
    pub first: usize,
    /// End (exclusive) of the periods the lift sums over.
    pub until: usize,
    /// The measured lift (KPI units).
    pub lift: f64,
    /// Its standard error.
    pub sd: f64,
    f: Vec<f64>,
    df: Vec<f64>,
    /// `Δ_g` per tested geo, of the last evaluation.
    delta: Vec<f64>,
    /// `Σ_{t∈R} ∂(f' − f)/∂θ_p` per tested geo, `j·P + p`.
    d_delta: Vec<f64>,
}

impl GeoLift {
    /// A test of channel `media` (with `n_params` chain parameters) in `geos`, with their
    /// scaled counterfactual spend and weights `K_g`, summing over `first..until`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        media: usize,
        n_params: usize,
        geos: Vec<usize>,
        counterfactual: Vec<Vec<f64>>,
        weights: Vec<f64>,
        (first, until): (usize, usize),
        lift: f64,
        sd: f64,
    ) -> Self {
        let periods = counterfactual.first().map_or(0, |c| c.len());
        let k = geos.len();
        GeoLift {
            media,
            geos,
            counterfactual,
            weights,
            first,
            until,
            lift,
            sd,
            f: vec![0.0; periods],
            df: vec![0.0; n_params * periods],
            delta: vec![0.0; k],
            d_delta: vec![0.0; k * n_params],
        }
    }
}

/// A channel of the geo density: scaled per-capita spend of every geo, geo-major
/// (`x[g·T + t]`), and its chain.
#[derive(Debug, Clone)]
pub struct GeoMediaTerm {
    /// Scaled spend, `G·T` values, geo-major.
    pub x: Vec<f64>,
    /// The channel's chain (its parameters are set per evaluation: shared, or each geo's).
    pub chain: TransformChain,
    /// Number of chain parameters.
    pub n_params: usize,
    /// Under the ROI parameterization, per geo `k_g/S_c = p_g·s_y/S_c` (the geo's scale back
    /// to KPI units over the channel's national spend, module docs); empty otherwise.
    pub roi_weights: Vec<f64>,
    ws: ChainWorkspace,
    /// `f`, geo-major.
    f: Vec<f64>,
    /// `∂f/∂θ_p` per geo, geo-major then `p`-major (`df[(g·P + p)·T + t]`).
    df: Vec<f64>,
    /// `f̄_g`, the mean of `f` over the periods, per geo.
    f_mean: Vec<f64>,
    /// The chain parameters of one geo (scratch).
    theta: Vec<f64>,
}

impl GeoMediaTerm {
    /// A channel on scaled spend `x` (`geos·periods` values, geo-major).
    pub fn new(x: Vec<f64>, chain: TransformChain, periods: usize) -> Self {
        let np = chain.n_params();
        let ws = ChainWorkspace::new(&chain, periods);
        let mut theta = vec![0.0; np];
        chain.get_params(&mut theta);
        GeoMediaTerm {
            f_mean: vec![0.0; x.len() / periods.max(1)],
            f: vec![0.0; x.len()],
            df: vec![0.0; np * x.len()],
            x,
            chain,
            n_params: np,
            roi_weights: Vec::new(),
            ws,
            theta,
        }
    }
}

/// The log posterior of the geo model (see the module docs).
#[derive(Debug, Clone)]
pub struct GeoDensity {
    /// Geos.
    pub geos: usize,
    /// Periods per geo.
    pub periods: usize,
    /// Scaled per-capita target, geo-major.
    pub y: Vec<f64>,
    /// Control columns, each geo-major.
    pub z: Vec<Vec<f64>>,
    /// Channels.
    pub media: Vec<GeoMediaTerm>,
    /// Sampled parameters, in vector order.
    pub params: Vec<GeoParam>,
    /// Gradient evaluations so far.
    pub evaluations: u64,
    /// The noise distribution (normal unless set otherwise after [`GeoDensity::new`]).
    pub family: Family,
    /// Lift tests fitted with the data (none unless set after [`GeoDensity::new`]).
    pub lifts: Vec<GeoLift>,
    /// `∂ℓ/∂β_{g,c}` of the lift tests, channel-major (module docs).
    lift_dbeta: Vec<f64>,
    pt: PriorTerms,
    mu: Vec<f64>,
    g: Vec<f64>,
    beta: Vec<f64>,
    /// Per geo: the derived intercept `τ_g`, `π'(τ_g)` and `A_g` (see `logp_grad`).
    tau: Vec<f64>,
    d_tau: Vec<f64>,
    a: Vec<f64>,
    /// Per channel and geo, the indices of the chain's parameters (`[c][g][p]`; the same for
    /// every geo when the channel's transforms are shared).
    theta_idx: Vec<Vec<Vec<usize>>>,
    /// Per channel, whether each geo has its own chain parameters (`GeoTransform` slots).
    theta_per_geo: Vec<bool>,
    log_median: Vec<usize>,
    spread: Vec<usize>,
    offset: Vec<usize>,
    intercept: Vec<usize>,
    coef: Vec<usize>,
    /// Per control column, the index of its spread `ξ_j` when its coefficients are per geo.
    coef_spread: Vec<Option<usize>>,
    /// `η_{g,j}` indices, `j·G + g` (per-geo columns only).
    coef_offset: Vec<usize>,
    /// `z̄_{g,j}`, the mean of column `j` over geo `g`'s periods, `j·G + g`.
    z_mean: Vec<f64>,
    /// Per geo, the index of its noise scale (all the same for a shared `σ`).
    sigma: Vec<usize>,
    /// Whether the geo effects are sampled centred (`EffectLog`) rather than as offsets.
    centered: bool,
    /// Per channel, whether it is ROI-parameterized (`Roi` slot).
    roi: Vec<bool>,
    /// Per channel, `m_c` of the last evaluation (derived under the ROI parameterization).
    m: Vec<f64>,
    /// `π_{g,c}` of the last evaluation (ROI parameterization), channel-major.
    pi: Vec<f64>,
}

impl GeoDensity {
    /// Assembles the density. `params` must hold, per channel, every chain parameter, its
    /// `EffectLogMedian`, `EffectSpread` and one `EffectOffset` per geo; one `Intercept` per
    /// geo, one `Coef` per control column and one `Sigma`.
    pub fn new(
        geos: usize,
        periods: usize,
        y: Vec<f64>,
        z: Vec<Vec<f64>>,
        media: Vec<GeoMediaTerm>,
        params: Vec<GeoParam>,
    ) -> Self {
        let c = media.len();
        let mut theta_idx: Vec<Vec<Vec<usize>>> = media
            .iter()
            .map(|m| vec![vec![0; m.n_params]; geos])
            .collect();
        let mut theta_per_geo = vec![false; c];
        let (mut log_median, mut spread) = (vec![0; c], vec![0; c]);
        let mut offset = vec![0; c * geos];
        let mut intercept = vec![0; geos];
        let mut coef = vec![0; z.len()];
        let mut coef_spread = vec![None; z.len()];
        let mut coef_offset = vec![0; z.len() * geos];
        let mut sigma = vec![0; geos];
        let mut centered = false;
        let mut roi = vec![false; c];
        for (k, p) in params.iter().enumerate() {
            match p.slot {
                GeoSlot::Transform { media, param } => {
                    theta_idx[media].iter_mut().for_each(|t| t[param] = k)
                }
                GeoSlot::GeoTransform { media, param, geo } => {
                    theta_idx[media][geo][param] = k;
                    theta_per_geo[media] = true;
                }
                GeoSlot::EffectLogMedian(m) => log_median[m] = k,
                GeoSlot::Roi(m) => {
                    log_median[m] = k;
                    roi[m] = true;
                }
                GeoSlot::EffectSpread(m) => spread[m] = k,
                GeoSlot::EffectOffset { media, geo } => offset[media * geos + geo] = k,
                GeoSlot::EffectLog { media, geo } => {
                    offset[media * geos + geo] = k;
                    centered = true;
                }
                GeoSlot::Intercept(g) => intercept[g] = k,
                GeoSlot::Coef(j) => coef[j] = k,
                GeoSlot::CoefSpread(j) => coef_spread[j] = Some(k),
                GeoSlot::CoefOffset { coef, geo } => coef_offset[coef * geos + geo] = k,
                GeoSlot::Sigma => sigma.iter_mut().for_each(|s| *s = k),
                GeoSlot::GeoSigma(g) => sigma[g] = k,
            }
        }
        assert!(
            !(centered && roi.iter().any(|&r| r)),
            "the ROI parameterization needs the non-centred geo effects"
        );
        let d = params.len();
        let n = geos * periods;
        let z_mean = z
            .iter()
            .flat_map(|zj| {
                zj.chunks(periods.max(1))
                    .map(|c| sum(c) / periods.max(1) as f64)
            })
            .collect();
        GeoDensity {
            geos,
            periods,
            y,
            z,
            media,
            params,
            evaluations: 0,
            family: Family::Normal,
            lifts: Vec::new(),
            lift_dbeta: vec![0.0; c * geos],
            pt: PriorTerms::new(d),
            mu: vec![0.0; n],
            g: vec![0.0; n],
            beta: vec![0.0; c * geos],
            tau: vec![0.0; geos],
            d_tau: vec![0.0; geos],
            a: vec![0.0; geos],
            theta_idx,
            theta_per_geo,
            log_median,
            spread,
            offset,
            intercept,
            coef,
            coef_spread,
            coef_offset,
            z_mean,
            sigma,
            centered,
            roi,
            m: vec![0.0; c],
            pi: vec![0.0; c * geos],
        }
    }

    /// Constrained values `x = T(u)` of every parameter.
    pub fn constrain(&self, u: &[f64], out: &mut [f64]) {
        for (k, p) in self.params.iter().enumerate() {
            out[k] = p.bijector.forward(u[k]).x;
        }
    }

    /// `β_{g,c} = exp(m_c + s_c·ε_{g,c})` of every geo for constrained parameters `x`
    /// (`m_c` from [`GeoDensity::log_median`]).
    pub fn coefficients(&mut self, x: &[f64], media: usize) -> Vec<f64> {
        let m = self.log_median(x, media);
        (0..self.geos)
            .map(|g| self.coefficient_at(x, media, g, m))
            .collect()
    }

    /// `β_{g,c}` given `m_c`.
    fn coefficient_at(&self, x: &[f64], media: usize, geo: usize, m: f64) -> f64 {
        let k = self.offset[media * self.geos + geo];
        if self.centered {
            x[k].exp()
        } else {
            (m + x[self.spread[media]] * x[k]).exp()
        }
    }

    /// Whether channel `c` is ROI-parameterized.
    pub fn is_roi(&self, c: usize) -> bool {
        self.roi[c]
    }

    /// `m_c`, the log of channel `c`'s median coefficient across geos, for constrained
    /// parameters `x`: sampled, or under the ROI parameterization derived from `r_c`
    /// (`m_c = log r_c − log Σ_g (k_g/S_c)·e^{s_c·ε_{g,c}}·F_{g,c}(θ_c)`, module docs).
    pub fn log_median(&mut self, x: &[f64], media: usize) -> f64 {
        let k = self.log_median[media];
        if !self.roi[media] {
            return x[k];
        }
        let periods = self.periods;
        let s = x[self.spread[media]];
        let offsets: Vec<f64> = (0..self.geos)
            .map(|g| x[self.offset[media * self.geos + g]])
            .collect();
        self.transformed(x, media);
        let term = &self.media[media];
        let total: f64 = (0..self.geos)
            .map(|g| {
                let mass = sum(&term.f[g * periods..(g + 1) * periods]);
                term.roi_weights[g] * (s * offsets[g]).exp() * mass
            })
            .sum();
        x[k].ln() - total.ln()
    }

    /// Index of channel `c`'s chain parameters in geo `g` (the same for every geo unless the
    /// channel's transforms are per geo).
    pub fn theta_indices(&self, c: usize, g: usize) -> &[usize] {
        &self.theta_idx[c][g]
    }

    /// Whether channel `c`'s transforms have their own parameters in every geo.
    pub fn theta_per_geo(&self, c: usize) -> bool {
        self.theta_per_geo[c]
    }

    /// Channel `c`'s chain parameters in geo `g` for constrained parameters `x`.
    pub fn chain_params(&self, x: &[f64], c: usize, g: usize) -> Vec<f64> {
        self.theta_idx[c][g].iter().map(|&k| x[k]).collect()
    }

    /// The transformed series `f_c(x̃_{g,c}; θ_{g,c})` of every geo for constrained parameters
    /// `x`, geo-major (each geo's series through the chain with its parameters).
    pub fn transformed(&mut self, x: &[f64], c: usize) -> &[f64] {
        let periods = self.periods;
        let per_geo = self.theta_per_geo[c];
        let idx = &self.theta_idx[c];
        let m = &mut self.media[c];
        for g in 0..self.geos {
            if g == 0 || per_geo {
                for (t, &k) in m.theta.iter_mut().zip(&idx[g]) {
                    *t = x[k];
                }
                m.chain.set_params(&m.theta);
            }
            let span = g * periods..(g + 1) * periods;
            m.chain.apply(&m.x[span.clone()], &mut m.f[span], &mut m.ws);
        }
        &m.f
    }

    /// Index of geo `g`'s noise scale (the shared one's for every geo unless each has its own).
    pub fn sigma_index(&self, g: usize) -> usize {
        self.sigma[g]
    }

    /// Index of geo `g`'s level `τ'_g` (the sampled parameter `intercept.<geo>`; the
    /// intercept itself is [`GeoDensity::intercepts`]).
    pub fn intercept_index(&self, g: usize) -> usize {
        self.intercept[g]
    }

    /// The intercepts `τ_g = τ'_g − Σ_c β_{g,c}·f̄_{g,c}(θ_c) − Σ_{j per geo} γ_{g,j}·z̄_{g,j}`
    /// of constrained parameters `x`.
    pub fn intercepts(&mut self, x: &[f64]) -> Vec<f64> {
        let (geos, periods) = (self.geos, self.periods);
        let mut tau: Vec<f64> = (0..geos).map(|g| x[self.intercept[g]]).collect();
        for j in (0..self.z.len()).filter(|&j| self.coef_per_geo(j)) {
            for (g, t) in tau.iter_mut().enumerate() {
                *t -= self.control_coefficient(x, j, g) * self.z_mean[j * geos + g];
            }
        }
        for c in 0..self.media.len() {
            let betas = self.coefficients(x, c);
            let f = self.transformed(x, c);
            for (g, t) in tau.iter_mut().enumerate() {
                let mean = f[g * periods..(g + 1) * periods].iter().sum::<f64>() / periods as f64;
                *t -= betas[g] * mean;
            }
        }
        tau
    }

    /// Every lift test's model lift `λ = Σ_g K_g·β_{g,c}·Δ_g` (KPI units) for constrained
    /// parameters `x` (module docs).
    pub fn model_lifts(&mut self, x: &[f64]) -> Vec<f64> {
        let periods = self.periods;
        let mut out = Vec::with_capacity(self.lifts.len());
        for k in 0..self.lifts.len() {
            let c = self.lifts[k].media;
            let betas = self.coefficients(x, c);
            let mut lambda = 0.0;
            for j in 0..self.lifts[k].geos.len() {
                // only the tested geos' series: actual and counterfactual, with the geo's θ
                let g = self.lifts[k].geos[j];
                let theta = self.chain_params(x, c, g);
                let m = &mut self.media[c];
                let l = &mut self.lifts[k];
                m.chain.set_params(&theta);
                let own = g * periods..(g + 1) * periods;
                m.chain.apply(&m.x[own.clone()], &mut m.f[own], &mut m.ws);
                m.chain.apply(&l.counterfactual[j], &mut l.f, &mut m.ws);
                let span = g * periods + l.first..g * periods + l.until;
                let delta = sum(&l.f[l.first..l.until]) - sum(&m.f[span]);
                lambda += l.weights[j] * betas[g] * delta;
            }
            out.push(lambda);
        }
        out
    }

    /// Index of control column `j`'s coefficient `γ_j`.
    pub fn coef_index(&self, j: usize) -> usize {
        self.coef[j]
    }

    /// Whether control column `j` has a coefficient per geo.
    pub fn coef_per_geo(&self, j: usize) -> bool {
        self.coef_spread[j].is_some()
    }

    /// Geo `g`'s coefficient of control column `j` for constrained parameters `x`:
    /// `γ_{g,j} = γ_j + ξ_j·η_{g,j}` for a per-geo column, `γ_j` otherwise.
    pub fn control_coefficient(&self, x: &[f64], j: usize, g: usize) -> f64 {
        match self.coef_spread[j] {
            Some(ks) => x[self.coef[j]] + x[ks] * x[self.coef_offset[j * self.geos + g]],
            None => x[self.coef[j]],
        }
    }

    /// Index of channel `c`'s `m_c`, the log of its median coefficient across geos.
    pub fn log_median_index(&self, c: usize) -> usize {
        self.log_median[c]
    }
}

impl LogDensity for GeoDensity {
    fn dim(&self) -> usize {
        self.params.len()
    }

    fn logp_grad(&mut self, u: &[f64], grad: &mut [f64]) -> f64 {
        self.evaluations += 1;
        let (geos, periods) = (self.geos, self.periods);
        let n = geos * periods;
        let Some(mut lp) = self.pt.evaluate(&self.params, u) else {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return f64::NEG_INFINITY;
        };
        if self.centered {
            // the hierarchy's prior b_{g,c} ~ N(m_c, s_c)
            for c in 0..self.media.len() {
                let (km, ks) = (self.log_median[c], self.spread[c]);
                let (m, s) = (self.pt.x[km], self.pt.x[ks]);
                for g in 0..geos {
                    let kb = self.offset[c * geos + g];
                    let z = (self.pt.x[kb] - m) / s;
                    lp += -0.5 * z * z - s.ln() - crate::prior::HALF_LN_2PI;
                    self.pt.gx[kb] -= z / s;
                    self.pt.gx[km] += z / s;
                    self.pt.gx[ks] += (z * z - 1.0) / s;
                }
            }
            if !lp.is_finite() {
                grad.iter_mut().for_each(|g| *g = 0.0);
                return f64::NEG_INFINITY;
            }
        }
        // mean: levels τ'_g, controls, then media centred within each geo (β per geo); the
        // intercept τ_g = τ'_g − Σ_c β_{g,c}·f̄_{g,c} is derived (see the module docs)
        for g in 0..geos {
            let level = self.pt.x[self.intercept[g]];
            self.tau[g] = level;
            self.mu[g * periods..(g + 1) * periods]
                .iter_mut()
                .for_each(|v| *v = level);
        }
        for (j, zj) in self.z.iter().enumerate() {
            if self.coef_spread[j].is_none() {
                let c = self.pt.x[self.coef[j]];
                for (o, v) in self.mu.iter_mut().zip(zj) {
                    *o += c * v;
                }
                continue;
            }
            // a coefficient per geo, on the column centred within the geo (the level shear)
            for g in 0..geos {
                let c = self.control_coefficient(&self.pt.x, j, g);
                let mean = self.z_mean[j * geos + g];
                self.tau[g] -= c * mean;
                let span = g * periods..(g + 1) * periods;
                for (o, v) in self.mu[span.clone()].iter_mut().zip(&zj[span]) {
                    *o += c * (v - mean);
                }
            }
        }
        let inv_t = 1.0 / periods as f64;
        for c in 0..self.media.len() {
            let m = &mut self.media[c];
            let per_geo = self.theta_per_geo[c];
            let np = m.n_params;
            for g in 0..geos {
                if g == 0 || per_geo {
                    for (p, &k) in self.theta_idx[c][g].iter().enumerate() {
                        m.theta[p] = self.pt.x[k];
                    }
                    m.chain.set_params(&m.theta);
                }
                let span = g * periods..(g + 1) * periods;
                // f and ∂f/∂θ in one pass through the chain, kept for the gradient
                m.chain.apply_d_params(
                    &m.x[span.clone()],
                    &mut m.f[span.clone()],
                    &mut m.df[g * np * periods..(g + 1) * np * periods],
                    &mut m.ws,
                );
                m.f_mean[g] = sum(&m.f[span]) * inv_t;
                // lift tests of this channel in this geo: Δ_g and its θ-derivatives
                for l in self.lifts.iter_mut().filter(|l| l.media == c) {
                    let Some(j) = l.geos.iter().position(|&h| h == g) else {
                        continue;
                    };
                    m.chain
                        .apply_d_params(&l.counterfactual[j], &mut l.f, &mut l.df, &mut m.ws);
                    let (a, b) = (g * periods + l.first, g * periods + l.until);
                    l.delta[j] = sum(&l.f[l.first..l.until]) - sum(&m.f[a..b]);
                    for p in 0..np {
                        let own = g * np * periods + p * periods;
                        l.d_delta[j * np + p] =
                            sum(&l.df[p * periods + l.first..p * periods + l.until])
                                - sum(&m.df[own + l.first..own + l.until]);
                    }
                }
            }
            let km = self.log_median[c];
            self.m[c] = if self.roi[c] {
                // m_c = log r_c − log Σ_g w_g, w_g = (k_g/S_c)·e^{s_c·ε_g}·F_g (uncentred F)
                let s = self.pt.x[self.spread[c]];
                let m = &self.media[c];
                let mut total = 0.0;
                for g in 0..geos {
                    let e = self.pt.x[self.offset[c * geos + g]];
                    let w = m.roi_weights[g] * (s * e).exp() * m.f_mean[g] * periods as f64;
                    self.pi[c * geos + g] = w;
                    total += w;
                }
                self.pi[c * geos..(c + 1) * geos]
                    .iter_mut()
                    .for_each(|w| *w /= total);
                self.pt.x[km].ln() - total.ln()
            } else {
                self.pt.x[km]
            };
            for g in 0..geos {
                let b = self.coefficient_at(&self.pt.x, c, g, self.m[c]);
                if !b.is_finite() {
                    grad.iter_mut().for_each(|g| *g = 0.0);
                    return f64::NEG_INFINITY;
                }
                self.beta[c * geos + g] = b;
            }
            let m = &mut self.media[c];
            for g in 0..geos {
                let span = g * periods..(g + 1) * periods;
                let mean = m.f_mean[g];
                let b = self.beta[c * geos + g];
                self.tau[g] -= b * mean;
                for (o, f) in self.mu[span.clone()].iter_mut().zip(&m.f[span]) {
                    *o += b * (f - mean);
                }
            }
        }
        // the intercepts' prior at the derived τ_g instead of the level (unit Jacobian)
        for g in 0..geos {
            let k = self.intercept[g];
            let prior = &self.params[k].prior;
            let (level, tau) = (self.pt.x[k], self.tau[g]);
            lp += prior.log_density(tau) - prior.log_density(level);
            let d_tau = prior.d_log_density(tau);
            self.pt.gx[k] += d_tau - prior.d_log_density(level);
            self.d_tau[g] = d_tau;
        }
        if !lp.is_finite() {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return f64::NEG_INFINITY;
        }
        // likelihood
        for ((g, y), mu) in self.g.iter_mut().zip(&self.y).zip(&self.mu) {
            *g = y - mu;
        }
        let mut ll = match self.family {
            Family::Normal => -(n as f64) * crate::prior::HALF_LN_2PI,
            Family::StudentT(_) => 0.0,
        };
        for g in 0..geos {
            let k = self.sigma[g];
            let sigma = self.pt.x[k];
            let r = &mut self.g[g * periods..(g + 1) * periods];
            match self.family {
                Family::Normal => {
                    let inv2 = 1.0 / (sigma * sigma);
                    let ss = dot(r, r);
                    r.iter_mut().for_each(|v| *v *= inv2);
                    ll += -(periods as f64) * sigma.ln() - 0.5 * ss * inv2;
                    self.pt.gx[k] += -(periods as f64) / sigma + ss * inv2 / sigma;
                }
                Family::StudentT(nu) => {
                    let c = crate::density::student_t_norm(nu) - sigma.ln();
                    let s2 = sigma * sigma;
                    let mut dsigma = 0.0;
                    for v in r.iter_mut() {
                        let e = *v;
                        let den = nu * s2 + e * e;
                        ll += c - 0.5 * (nu + 1.0) * (e * e / (nu * s2)).ln_1p();
                        *v = (nu + 1.0) * e / den;
                        dsigma += -1.0 / sigma + (nu + 1.0) * e * e / (sigma * den);
                    }
                    self.pt.gx[k] += dsigma;
                }
            }
        }
        // lift tests: λ = Σ_g K_g·β_{g,c}·Δ_g, ℓ += log N(L | λ, se)
        if !self.lifts.is_empty() {
            self.lift_dbeta.iter_mut().for_each(|v| *v = 0.0);
            for l in &self.lifts {
                let c = l.media;
                let lambda: f64 = l
                    .geos
                    .iter()
                    .enumerate()
                    .map(|(j, &g)| l.weights[j] * self.beta[c * geos + g] * l.delta[j])
                    .sum();
                let r = l.lift - lambda;
                let inv2 = 1.0 / (l.sd * l.sd);
                ll += -l.sd.ln() - crate::prior::HALF_LN_2PI - 0.5 * r * r * inv2;
                let h = r * inv2;
                let np = self.media[c].n_params;
                for (j, &g) in l.geos.iter().enumerate() {
                    let b = self.beta[c * geos + g];
                    self.lift_dbeta[c * geos + g] += h * l.weights[j] * l.delta[j];
                    for (p, &k) in self.theta_idx[c][g].iter().enumerate() {
                        self.pt.gx[k] += h * l.weights[j] * b * l.d_delta[j * np + p];
                    }
                }
            }
        }
        if !ll.is_finite() {
            grad.iter_mut().for_each(|g| *g = 0.0);
            return f64::NEG_INFINITY;
        }
        for g in 0..geos {
            let s = sum(&self.g[g * periods..(g + 1) * periods]);
            self.pt.gx[self.intercept[g]] += s;
            // A_g = Σ_t g_{g,t} + π'(τ_g): what a change of f̄_{g,c} costs through τ_g
            self.a[g] = s + self.d_tau[g];
        }
        for (j, zj) in self.z.iter().enumerate() {
            let Some(ks) = self.coef_spread[j] else {
                let s = dot(zj, &self.g);
                self.pt.gx[self.coef[j]] += s;
                continue;
            };
            let xi = self.pt.x[ks];
            for g in 0..geos {
                let span = g * periods..(g + 1) * periods;
                // D_{g,j} = Σ_t g·(z − z̄) − z̄·π'(τ_g) = Σ_t g·z − z̄·A_g
                let d =
                    dot(&zj[span.clone()], &self.g[span]) - self.z_mean[j * geos + g] * self.a[g];
                let ko = self.coef_offset[j * geos + g];
                self.pt.gx[self.coef[j]] += d;
                self.pt.gx[ks] += self.pt.x[ko] * d;
                self.pt.gx[ko] += xi * d;
            }
        }
        for c in 0..self.media.len() {
            let (km, ks) = (self.log_median[c], self.spread[c]);
            let s_c = self.pt.x[ks];
            let m = &mut self.media[c];
            let np = m.n_params;
            // D_c = ∂ℓ/∂m_c
            let mut d_m = 0.0;
            for g in 0..geos {
                let span = g * periods..(g + 1) * periods;
                let b = self.beta[c * geos + g];
                let ko = self.offset[c * geos + g];
                let gg = &self.g[span.clone()];
                // D_{g,c} = Σ_t g·(f − f̄) − f̄·π'(τ_g) = Σ_t g·f − f̄·A_g (+ the lift tests')
                let mut bsum = dot(&m.f[span.clone()], gg) - m.f_mean[g] * self.a[g];
                if !self.lifts.is_empty() {
                    bsum += self.lift_dbeta[c * geos + g];
                }
                if self.centered {
                    self.pt.gx[ko] += b * bsum;
                } else {
                    // the coefficient form adds straight into ∂ℓ/∂m_c (the summation order
                    // sampling had before the ROI form; chains stay bit for bit)
                    match self.roi[c] {
                        true => d_m += b * bsum,
                        false => self.pt.gx[km] += b * bsum,
                    }
                    self.pt.gx[ks] += b * self.pt.x[ko] * bsum;
                    self.pt.gx[ko] += b * s_c * bsum;
                }
                if np > 0 {
                    let dfg = &m.df[g * np * periods..(g + 1) * np * periods];
                    for (p, &k) in self.theta_idx[c][g].iter().enumerate() {
                        let d = &dfg[p * periods..(p + 1) * periods];
                        let s = dot(d, gg);
                        let mean_d = sum(d) * inv_t;
                        self.pt.gx[k] += b * (s - mean_d * self.a[g]);
                    }
                }
            }
            if !self.roi[c] {
                continue;
            }
            // the ROI parameterization: m_c = log r_c + log S_c − log Σ_g w_{g,c}, by the
            // chain rule (π_g = w_g/Σ_h w_h; the sampled value is r_c, so ∂/∂r = D/r)
            self.pt.gx[km] += d_m / self.pt.x[km];
            let pi = &self.pi[c * geos..(c + 1) * geos];
            for g in 0..geos {
                let ko = self.offset[c * geos + g];
                self.pt.gx[ks] -= d_m * pi[g] * self.pt.x[ko];
                self.pt.gx[ko] -= d_m * pi[g] * s_c;
                if np > 0 {
                    let dfg = &m.df[g * np * periods..(g + 1) * np * periods];
                    let mass = m.f_mean[g] * periods as f64;
                    for (p, &k) in self.theta_idx[c][g].iter().enumerate() {
                        let d = sum(&dfg[p * periods..(p + 1) * periods]);
                        self.pt.gx[k] -= d_m * pi[g] * d / mass;
                    }
                }
            }
        }
        self.pt.gradient(grad);
        lp + ll
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prior::{Bijector, Prior};
    use crate::priors::{half_normal::HalfNormal, normal::Normal};
    use mmm_transforms as _;

    fn normal(mu: f64, sigma: f64) -> Box<dyn Prior> {
        Box::new(Normal { mu, sigma })
    }

    /// [`density_in`] with the offsets (non-centred form).
    fn density() -> GeoDensity {
        density_in(false)
    }

    /// A small panel: 3 geos × 20 periods, one channel with geometric adstock + Hill, one
    /// control; every kind of parameter present; the geo effects centred or as offsets.
    fn density_in(centered: bool) -> GeoDensity {
        density_with(centered, false)
    }

    /// [`density_in`], with one noise scale per geo on request.
    fn density_with(centered: bool, per_geo_sigma: bool) -> GeoDensity {
        density_full(centered, per_geo_sigma, false)
    }

    /// [`density_with`], ROI-parameterized on request (`r` with a LogNormal prior in place of
    /// `m`; weights `k_g/S` of unequal geos).
    fn density_full(centered: bool, per_geo_sigma: bool, roi: bool) -> GeoDensity {
        let (geos, periods) = (3, 20);
        let x: Vec<f64> = (0..geos * periods)
            .map(|i| 0.5 + ((i * 7919) % 13) as f64 / 10.0)
            .collect();
        let z = vec![(0..geos * periods)
            .map(|i| ((i * 31) % 7) as f64 / 7.0)
            .collect()];
        let y: Vec<f64> = (0..geos * periods)
            .map(|i| 1.0 + ((i * 17) % 11) as f64 / 11.0)
            .collect();
        let chain: TransformChain = serde_json::from_value(serde_json::json!([
            {"type": "geometric_adstock", "decay": 0.5},
            {"type": "hill", "half_saturation": 1.0, "shape": 1.5}
        ]))
        .unwrap();
        let spend: f64 = x.iter().sum();
        let mut media = vec![GeoMediaTerm::new(x, chain, periods)];
        if roi {
            media[0].roi_weights = (0..geos).map(|g| (1.0 + g as f64) * 0.8 / spend).collect();
        }
        let mut params = Vec::new();
        let positive = |name: &str, slot| GeoParam {
            name: name.into(),
            slot,
            prior: Box::new(HalfNormal { sigma: 1.0 }) as Box<dyn Prior>,
            bijector: Bijector::Lower(0.0),
        };
        params.push(GeoParam {
            name: "decay".into(),
            slot: GeoSlot::Transform { media: 0, param: 0 },
            prior: normal(0.5, 0.2),
            bijector: Bijector::Interval(0.0, 1.0),
        });
        params.push(positive(
            "half_saturation",
            GeoSlot::Transform { media: 0, param: 1 },
        ));
        params.push(positive("shape", GeoSlot::Transform { media: 0, param: 2 }));
        params.push(if roi {
            GeoParam {
                name: "r".into(),
                slot: GeoSlot::Roi(0),
                prior: Box::new(crate::priors::log_normal::LogNormal {
                    mu: 0.2,
                    sigma: 0.9,
                }),
                bijector: Bijector::Lower(0.0),
            }
        } else {
            GeoParam {
                name: "m".into(),
                slot: GeoSlot::EffectLogMedian(0),
                prior: normal(0.0, 1.0),
                bijector: Bijector::Identity,
            }
        });
        params.push(positive("s", GeoSlot::EffectSpread(0)));
        for g in 0..geos {
            params.push(if centered {
                GeoParam {
                    name: format!("logbeta{g}"),
                    slot: GeoSlot::EffectLog { media: 0, geo: g },
                    prior: Box::new(crate::priors::flat::Flat { center: 0.0 }),
                    bijector: Bijector::Identity,
                }
            } else {
                GeoParam {
                    name: format!("eps{g}"),
                    slot: GeoSlot::EffectOffset { media: 0, geo: g },
                    prior: normal(0.0, 1.0),
                    bijector: Bijector::Identity,
                }
            });
            params.push(GeoParam {
                name: format!("tau{g}"),
                slot: GeoSlot::Intercept(g),
                prior: normal(0.0, 2.0),
                bijector: Bijector::Identity,
            });
        }
        params.push(GeoParam {
            name: "gamma".into(),
            slot: GeoSlot::Coef(0),
            prior: normal(0.0, 2.0),
            bijector: Bijector::Identity,
        });
        if per_geo_sigma {
            for g in 0..geos {
                params.push(positive(&format!("sigma{g}"), GeoSlot::GeoSigma(g)));
            }
        } else {
            params.push(positive("sigma", GeoSlot::Sigma));
        }
        GeoDensity::new(geos, periods, y, z, media, params)
    }

    #[test]
    fn gradient_matches_central_differences() {
        check_gradient(density());
        check_gradient(density_in(true));
        check_gradient(density_with(false, true));
        check_gradient(with_per_geo_control(density()));
        check_gradient(with_per_geo_control(density_with(false, true)));
        // the ROI parameterization, shared and per-geo noise
        check_gradient(density_full(false, false, true));
        check_gradient(density_full(false, true, true));
        // both: ROI parameterization with per-geo control coefficients
        check_gradient(with_per_geo_control(density_full(false, true, true)));
        // Student-t noise, shared and per-geo scales, with the ROI form
        check_gradient(student_t(density()));
        check_gradient(student_t(density_full(false, true, true)));
        // lift tests: coefficients, ROI form, per-geo transforms
        check_gradient(with_lift(density()));
        check_gradient(with_lift(density_full(false, true, true)));
        check_gradient(with_lift(with_per_geo_transforms(density())));
        // each geo its own transform parameters: coefficients, centred, ROI
        check_gradient(with_per_geo_transforms(density()));
        check_gradient(with_per_geo_transforms(density_in(true)));
        check_gradient(with_per_geo_transforms(density_full(false, true, true)));
    }

    /// `d` with a lift test of channel 0 in geos 0 and 2: spend halved over periods 5–9, the
    /// lift summed over 5..20.
    fn with_lift(mut d: GeoDensity) -> GeoDensity {
        let p = d.periods;
        let geos = vec![0, 2];
        let counterfactual = geos
            .iter()
            .map(|&g| {
                let x = &d.media[0].x[g * p..(g + 1) * p];
                x.iter()
                    .enumerate()
                    .map(|(t, v)| if (5..10).contains(&t) { 0.5 * v } else { *v })
                    .collect()
            })
            .collect();
        let np = d.media[0].n_params;
        d.lifts = vec![GeoLift::new(
            0,
            np,
            geos,
            counterfactual,
            vec![1.3, 0.7],
            (5, 20),
            -0.8,
            0.3,
        )];
        d
    }

    /// The lift term is the normal log density of the measured lift around the model's
    /// `λ = Σ_g K_g·β_g·Δ_g`, with `Δ_g` computed here from the chain directly.
    #[test]
    fn lift_test_adds_the_normal_density_of_its_measurement() {
        for base in [density(), with_per_geo_transforms(density())] {
            let mut plain = base.clone();
            let mut lifted = with_lift(base);
            let dim = plain.dim();
            let u: Vec<f64> = (0..dim).map(|k| 0.3 * ((k as f64) * 0.7).sin()).collect();
            let mut grad = vec![0.0; dim];
            let diff = lifted.logp_grad(&u, &mut grad) - plain.logp_grad(&u, &mut grad);
            let mut x = vec![0.0; dim];
            lifted.constrain(&u, &mut x);
            let betas = lifted.coefficients(&x, 0);
            let p = lifted.periods;
            let mut lambda = 0.0;
            for (j, g) in [0usize, 2].into_iter().enumerate() {
                let mut chain = lifted.media[0].chain.clone();
                chain.set_params(&lifted.chain_params(&x, 0, g));
                let mut ws = ChainWorkspace::new(&chain, p);
                let (mut f, mut f_cf) = (vec![0.0; p], vec![0.0; p]);
                chain.apply(&lifted.media[0].x[g * p..(g + 1) * p], &mut f, &mut ws);
                chain.apply(&lifted.lifts[0].counterfactual[j], &mut f_cf, &mut ws);
                let delta: f64 = (5..20).map(|t| f_cf[t] - f[t]).sum();
                lambda += [1.3, 0.7][j] * betas[g] * delta;
            }
            let want =
                -0.3f64.ln() - crate::prior::HALF_LN_2PI - 0.5 * ((-0.8 - lambda) / 0.3).powi(2);
            assert!((diff - want).abs() < 1e-9, "{diff} vs {want}");
            assert!((lifted.model_lifts(&x)[0] - lambda).abs() < 1e-12);
        }
    }

    /// `d` with Student-t noise (ν = 4).
    fn student_t(mut d: GeoDensity) -> GeoDensity {
        d.family = Family::StudentT(4.0);
        d
    }

    /// `d` with its shared chain parameters replaced by one set per geo (`GeoTransform`,
    /// each with the shared parameter's prior and bijector).
    fn with_per_geo_transforms(d: GeoDensity) -> GeoDensity {
        let mut params = Vec::new();
        for p in d.params {
            match p.slot {
                GeoSlot::Transform { media, param } => {
                    for geo in 0..d.geos {
                        params.push(GeoParam {
                            name: format!("{}{geo}", p.name),
                            slot: GeoSlot::GeoTransform { media, param, geo },
                            ..p.clone()
                        });
                    }
                }
                _ => params.push(p),
            }
        }
        let d = GeoDensity::new(d.geos, d.periods, d.y, d.z, d.media, params);
        assert!(d.theta_per_geo(0));
        d
    }

    /// With per-geo transforms, each geo's series goes through its own chain: moving one geo's
    /// decay changes that geo's transformed series only.
    #[test]
    fn per_geo_transforms_act_on_their_own_geo() {
        let mut d = with_per_geo_transforms(density());
        let dim = d.dim();
        let u: Vec<f64> = (0..dim).map(|k| 0.3 * ((k as f64) * 0.7).sin()).collect();
        let mut x = vec![0.0; dim];
        d.constrain(&u, &mut x);
        let before = d.transformed(&x, 0).to_vec();
        let k = d.theta_indices(0, 1)[0];
        assert_ne!(k, d.theta_indices(0, 0)[0]);
        x[k] = (x[k] + 0.3).min(0.95);
        let after = d.transformed(&x, 0).to_vec();
        let p = d.periods;
        assert_eq!(before[..p], after[..p]);
        assert_eq!(before[2 * p..], after[2 * p..]);
        assert!(before[p..2 * p]
            .iter()
            .zip(&after[p..2 * p])
            .skip(1)
            .all(|(a, b)| a != b));
    }

    /// Under the ROI parameterization the derived `m` makes the national ROI of the resulting
    /// coefficients, `Σ_g k_g·β_g·F_g / S`, exactly the sampled `r`.
    #[test]
    fn roi_parameterization_gives_the_sampled_national_roi() {
        let shared = density_full(false, false, true);
        for mut d in [shared.clone(), with_per_geo_transforms(shared)] {
            roi_is_the_sampled_one(&mut d);
        }
    }

    fn roi_is_the_sampled_one(d: &mut GeoDensity) {
        let dim = d.dim();
        for shift in [0.0, 0.4, -0.7] {
            let u: Vec<f64> = (0..dim)
                .map(|k| shift + 0.3 * ((k as f64) * 0.7).sin())
                .collect();
            let mut x = vec![0.0; dim];
            d.constrain(&u, &mut x);
            let r = x[d.log_median_index(0)];
            let betas = d.coefficients(&x, 0);
            let periods = d.periods;
            let weights = d.media[0].roi_weights.clone();
            let f = d.transformed(&x, 0).to_vec();
            let roi: f64 = (0..d.geos)
                .map(|g| {
                    let mass: f64 = f[g * periods..(g + 1) * periods].iter().sum();
                    weights[g] * betas[g] * mass
                })
                .sum();
            assert!((roi - r).abs() <= 1e-12 * r, "{roi} vs {r}");
            // the evaluation's own m_c is the same
            let mut grad = vec![0.0; dim];
            d.logp_grad(&u, &mut grad);
            assert!((d.m[0] - d.log_median(&x, 0)).abs() < 1e-12);
        }
    }

    /// The centred form is the same model: at `b_g = m + s·ε_g` its log density equals the
    /// non-centred one plus the log Jacobian `Σ_g log s` of `ε ↦ b` (the offsets' N(0, 1)
    /// prior becomes the N(m, s) prior of the `b_g`, with `log s` per geo from the change of
    /// variables).
    #[test]
    fn centred_form_is_the_same_model() {
        let mut nc = density_in(false);
        let mut c = density_in(true);
        let dim = nc.dim();
        let u: Vec<f64> = (0..dim).map(|k| 0.3 * ((k as f64) * 0.7).sin()).collect();
        let mut x = vec![0.0; dim];
        nc.constrain(&u, &mut x);
        let (km, ks) = (
            nc.log_median_index(0),
            nc.params.iter().position(|p| p.name == "s").unwrap(),
        );
        let mut uc = u.clone();
        for g in 0..nc.geos {
            let k = nc
                .params
                .iter()
                .position(|p| p.name == format!("eps{g}"))
                .unwrap();
            uc[k] = x[km] + x[ks] * x[k];
        }
        let mut grad = vec![0.0; dim];
        let a = nc.logp_grad(&u, &mut grad);
        let b = c.logp_grad(&uc, &mut grad);
        let jacobian = nc.geos as f64 * x[ks].ln();
        assert!(
            (b + jacobian - a).abs() < 1e-9 * a.abs(),
            "{a} vs {b} + {jacobian}"
        );
        for g in 0..nc.geos {
            let k = nc
                .params
                .iter()
                .position(|p| p.name == format!("eps{g}"))
                .unwrap();
            assert!((nc.coefficients(&x, 0)[g] - uc[k].exp()).abs() < 1e-12);
        }
    }

    fn check_gradient(mut d: GeoDensity) {
        let dim = d.dim();
        let u: Vec<f64> = (0..dim).map(|k| 0.3 * ((k as f64) * 0.7).sin()).collect();
        let mut grad = vec![0.0; dim];
        let lp = d.logp_grad(&u, &mut grad);
        assert!(lp.is_finite());
        let mut scratch = vec![0.0; dim];
        for k in 0..dim {
            let h = 1e-5;
            let (mut a, mut b) = (u.clone(), u.clone());
            a[k] += h;
            b[k] -= h;
            let fd = (d.logp_grad(&a, &mut scratch) - d.logp_grad(&b, &mut scratch)) / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() <= 1e-5 * (1.0 + fd.abs()),
                "parameter {} ({}): analytic {} finite difference {fd}",
                k,
                d.params[k].name,
                grad[k]
            );
        }
    }

    #[test]
    fn log_density_is_the_sum_of_per_geo_regressions() {
        // the likelihood equals the sum over geos of national-model likelihoods with the
        // geo's own intercept, coefficient and (on request) noise scale: carry-over restarts
        // in every geo
        for per_geo_sigma in [false, true] {
            per_geo_regressions(density_with(false, per_geo_sigma));
            per_geo_regressions(with_per_geo_control(density_with(false, per_geo_sigma)));
            per_geo_regressions(density_full(false, per_geo_sigma, true));
            per_geo_regressions(with_per_geo_transforms(density_with(false, per_geo_sigma)));
            per_geo_regressions(student_t(density_with(false, per_geo_sigma)));
        }
    }

    /// `d` with a coefficient per geo for its control column: `ξ` and one `η_g` per geo.
    fn with_per_geo_control(d: GeoDensity) -> GeoDensity {
        let mut params = d.params;
        params.push(GeoParam {
            name: "xi".into(),
            slot: GeoSlot::CoefSpread(0),
            prior: Box::new(HalfNormal { sigma: 0.5 }),
            bijector: Bijector::Lower(0.0),
        });
        for g in 0..d.geos {
            params.push(GeoParam {
                name: format!("eta{g}"),
                slot: GeoSlot::CoefOffset { coef: 0, geo: g },
                prior: normal(0.0, 1.0),
                bijector: Bijector::Identity,
            });
        }
        let d = GeoDensity::new(d.geos, d.periods, d.y, d.z, d.media, params);
        assert!(d.coef_per_geo(0));
        d
    }

    fn per_geo_regressions(mut d: GeoDensity) {
        let dim = d.dim();
        let u = vec![0.1; dim];
        let mut grad = vec![0.0; dim];
        let lp = d.logp_grad(&u, &mut grad);
        let mut x = vec![0.0; dim];
        d.constrain(&u, &mut x);
        let periods = d.periods;
        // the sampled intercepts are levels; the prior is on the derived intercepts
        let taus = d.intercepts(&x);
        let prior: f64 = d
            .params
            .iter()
            .enumerate()
            .zip(&u)
            .map(|((k, p), &uk)| {
                let m = p.bijector.forward(uk);
                let at = match d.intercept.iter().position(|&i| i == k) {
                    Some(g) => taus[g],
                    None => m.x,
                };
                p.prior.log_density(at) + m.log_jac
            })
            .sum();
        let mut ll = 0.0;
        for g in 0..d.geos {
            let mut chain = d.media[0].chain.clone();
            chain.set_params(&d.chain_params(&x, 0, g));
            let xs = &d.media[0].x[g * periods..(g + 1) * periods];
            let mut f = vec![0.0; periods];
            let mut ws = ChainWorkspace::new(&chain, periods);
            chain.apply(xs, &mut f, &mut ws);
            let b = d.coefficients(&x, 0)[g];
            let tau = taus[g];
            let gamma = d.control_coefficient(&x, 0, g);
            let sigma = x[d.sigma_index(g)];
            for t in 0..periods {
                let i = g * periods + t;
                let mu = tau + gamma * d.z[0][i] + b * f[t];
                let r = d.y[i] - mu;
                ll += match d.family {
                    Family::Normal => {
                        -sigma.ln() - crate::prior::HALF_LN_2PI - 0.5 * r * r / (sigma * sigma)
                    }
                    // statrs' location-scale Student-t, an independent implementation
                    Family::StudentT(nu) => {
                        use statrs::distribution::{Continuous, StudentsT};
                        StudentsT::new(mu, sigma, nu).unwrap().ln_pdf(d.y[i])
                    }
                };
            }
        }
        assert!(
            (lp - (prior + ll)).abs() < 1e-9 * lp.abs(),
            "{lp} {}",
            prior + ll
        );
    }
}

#[cfg(test)]
mod recovery {
    //! Posterior recovery on a simulated panel with known truth: 8 geos × 80 periods, two
    //! channels (geometric adstock + Hill with sampled parameters), per-geo coefficients drawn
    //! log-normally around national medians, per-geo intercepts, one control.
    use super::*;
    use crate::prior::{Bijector, Prior};
    use crate::priors::{
        beta::Beta, half_normal::HalfNormal, log_normal::LogNormal, normal::Normal,
    };
    use mmm_transforms as _;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    const GEOS: usize = 8;
    const T: usize = 80;

    struct Truth {
        log_median: [f64; 2],
        beta: Vec<[f64; 2]>,
    }

    fn chain(decay: f64, half: f64, shape: f64) -> TransformChain {
        serde_json::from_value(serde_json::json!([
            {"type": "geometric_adstock", "decay": decay},
            {"type": "hill", "half_saturation": half, "shape": shape}
        ]))
        .unwrap()
    }

    fn simulate(seed: u64) -> (GeoDensity, Truth) {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let mut n = || -> f64 { StandardNormal.sample(&mut r) };
        let log_median = [0.0f64, -0.5];
        let spread = [0.3, 0.3];
        let params = [(0.5, 1.0, 1.5), (0.2, 0.8, 1.2)];
        let mut xs = vec![vec![0.0; GEOS * T]; 2];
        let mut z = vec![0.0; GEOS * T];
        let mut y = vec![0.0; GEOS * T];
        let mut beta = Vec::new();
        for g in 0..GEOS {
            let tau = 1.0 + 0.3 * n();
            let b = [
                (log_median[0] + spread[0] * n()).exp(),
                (log_median[1] + spread[1] * n()).exp(),
            ];
            beta.push(b);
            for c in 0..2 {
                for t in 0..T {
                    xs[c][g * T + t] = (1.0 + 0.6 * n()).max(0.0);
                }
            }
            for t in 0..T {
                z[g * T + t] = n();
            }
            let mut mu = vec![0.0; T];
            for c in 0..2 {
                let (d, h, s) = params[c];
                let ch = chain(d, h, s);
                let mut f = vec![0.0; T];
                let mut ws = ChainWorkspace::new(&ch, T);
                ch.apply(&xs[c][g * T..(g + 1) * T], &mut f, &mut ws);
                for t in 0..T {
                    mu[t] += b[c] * f[t];
                }
            }
            for t in 0..T {
                y[g * T + t] = tau + 0.2 * z[g * T + t] + mu[t] + 0.1 * n();
            }
        }
        let media: Vec<GeoMediaTerm> = xs
            .into_iter()
            .map(|x| GeoMediaTerm::new(x, chain(0.3, 1.0, 1.0), T))
            .collect();
        let mut ps = Vec::new();
        let p = |name: String, slot, prior: Box<dyn Prior>, bijector| GeoParam {
            name,
            slot,
            prior,
            bijector,
        };
        for c in 0..2 {
            ps.push(p(
                format!("c{c}.decay"),
                GeoSlot::Transform { media: c, param: 0 },
                Box::new(Beta {
                    alpha: 1.0,
                    beta: 3.0,
                }),
                Bijector::Interval(0.0, 1.0),
            ));
            ps.push(p(
                format!("c{c}.half"),
                GeoSlot::Transform { media: c, param: 1 },
                Box::new(LogNormal {
                    mu: 0.0,
                    sigma: 0.5,
                }),
                Bijector::Lower(0.0),
            ));
            ps.push(p(
                format!("c{c}.shape"),
                GeoSlot::Transform { media: c, param: 2 },
                Box::new(LogNormal {
                    mu: 0.3,
                    sigma: 0.4,
                }),
                Bijector::Lower(0.0),
            ));
            ps.push(p(
                format!("c{c}.m"),
                GeoSlot::EffectLogMedian(c),
                Box::new(Normal {
                    mu: 0.0,
                    sigma: 1.0,
                }),
                Bijector::Identity,
            ));
            ps.push(p(
                format!("c{c}.s"),
                GeoSlot::EffectSpread(c),
                Box::new(HalfNormal { sigma: 0.5 }),
                Bijector::Lower(0.0),
            ));
            for g in 0..GEOS {
                ps.push(p(
                    format!("c{c}.eps{g}"),
                    GeoSlot::EffectOffset { media: c, geo: g },
                    Box::new(Normal {
                        mu: 0.0,
                        sigma: 1.0,
                    }),
                    Bijector::Identity,
                ));
            }
        }
        for g in 0..GEOS {
            ps.push(p(
                format!("tau{g}"),
                GeoSlot::Intercept(g),
                Box::new(Normal {
                    mu: 0.0,
                    sigma: 2.0,
                }),
                Bijector::Identity,
            ));
        }
        ps.push(p(
            "gamma".into(),
            GeoSlot::Coef(0),
            Box::new(Normal {
                mu: 0.0,
                sigma: 2.0,
            }),
            Bijector::Identity,
        ));
        ps.push(p(
            "sigma".into(),
            GeoSlot::Sigma,
            Box::new(HalfNormal { sigma: 1.0 }),
            Bijector::Lower(0.0),
        ));
        (
            GeoDensity::new(GEOS, T, y, vec![z], media, ps),
            Truth { log_median, beta },
        )
    }

    /// Constrained draws of two chains × (500 + 500), through the model's NUTS driver with a
    /// geo fit's metric.
    fn sample(d: &GeoDensity, seed: u64) -> (Vec<Vec<f64>>, usize) {
        let model = crate::model::BayesianMmm {
            chains: 2,
            tune: 500,
            draws: 500,
            target_accept: Some(0.9),
            metric: Some(crate::geo_fit::GEO_METRIC),
            progress: false,
            ..Default::default()
        };
        let fit = model.sample(d, seed).unwrap();
        (
            fit.draws.into_iter().flatten().collect(),
            fit.divergences.iter().sum(),
        )
    }

    fn interval(v: &mut [f64]) -> (f64, f64, f64) {
        v.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        (q(0.03), q(0.5), q(0.97))
    }

    #[test]
    fn recovers_national_medians_and_per_geo_coefficients() {
        let (mut d, truth) = simulate(11);
        let (draws, divergences) = sample(&d, 5);
        assert!(
            divergences <= 5,
            "{divergences} divergent transitions in 1,000 draws"
        );
        for c in 0..2 {
            let k = d.log_median[c];
            let mut m: Vec<f64> = draws.iter().map(|x| x[k]).collect();
            let (lo, _, hi) = interval(&mut m);
            assert!(
                lo <= truth.log_median[c] && truth.log_median[c] <= hi,
                "channel {c}: log median {} outside [{lo}, {hi}]",
                truth.log_median[c]
            );
        }
        let mut inside = 0;
        let mut pairs = 0;
        for g in 0..GEOS {
            for c in 0..2 {
                let mut b: Vec<f64> = draws.iter().map(|x| d.coefficients(x, c)[g]).collect();
                let (lo, _, hi) = interval(&mut b);
                let t = truth.beta[g][c];
                inside += (lo <= t && t <= hi) as usize;
                pairs += 1;
            }
        }
        // 94% intervals of 16 geo × channel pairs: at least 13 hold the truth
        assert!(
            inside >= 13,
            "{inside} of {pairs} per-geo intervals hold the truth"
        );
    }
}
