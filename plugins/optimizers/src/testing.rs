//! Analytic response curves for tests, benchmarks and examples.

use mmm_core::optimizer::ResponseCurves;

/// Hill response curves: `response_i(s) = H·β_i·s^k_i / (s^k_i + K_i^k_i)` over a horizon of
/// `H` periods, with marginal `β_i·k_i·s^(k_i−1)·K_i^k_i / (s^k_i + K_i^k_i)²` (the derivative
/// in total horizon spend `H·s`). Shapes `k ≤ 1` are concave, `k > 1` S-shaped.
#[derive(Debug, Clone, PartialEq)]
pub struct HillCurves {
    /// Channel names.
    pub names: Vec<String>,
    /// Current spend per period.
    pub current: Vec<f64>,
    /// Saturation level `β_i` per period (response per period at infinite spend).
    pub beta: Vec<f64>,
    /// Half-saturation spend `K_i` per period.
    pub half: Vec<f64>,
    /// Shape `k_i`.
    pub shape: Vec<f64>,
    /// Horizon `H` in periods.
    pub horizon: usize,
}

impl HillCurves {
    /// Channels `c0, c1, …` from `(current, β, K, k)` tuples, over `horizon` periods.
    pub fn new(channels: &[(f64, f64, f64, f64)], horizon: usize) -> Self {
        HillCurves {
            names: (0..channels.len()).map(|i| format!("c{i}")).collect(),
            current: channels.iter().map(|c| c.0).collect(),
            beta: channels.iter().map(|c| c.1).collect(),
            half: channels.iter().map(|c| c.2).collect(),
            shape: channels.iter().map(|c| c.3).collect(),
            horizon,
        }
    }
}

impl ResponseCurves for HillCurves {
    fn n_channels(&self) -> usize {
        self.names.len()
    }
    fn name(&self, channel: usize) -> &str {
        &self.names[channel]
    }
    fn current_spend(&self, channel: usize) -> f64 {
        self.current[channel]
    }
    fn response(&self, i: usize, spend: f64) -> f64 {
        let s = spend.max(0.0);
        let (k, kk) = (self.shape[i], self.half[i]);
        let sk = s.powf(k);
        self.horizon as f64 * self.beta[i] * sk / (sk + kk.powf(k))
    }
    fn marginal(&self, i: usize, spend: f64) -> f64 {
        let s = spend.max(0.0);
        let (k, kk) = (self.shape[i], self.half[i]);
        let kp = kk.powf(k);
        if s == 0.0 {
            return if k < 1.0 {
                f64::INFINITY
            } else if k == 1.0 {
                self.beta[i] / kk
            } else {
                0.0
            };
        }
        let sk = s.powf(k);
        let d = sk + kp;
        self.beta[i] * k * sk / s * kp / (d * d)
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
}
