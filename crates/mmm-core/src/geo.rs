//! A geo × time panel as the models see it: per geo its KPI, media spend and controls on the
//! national dates. National data is the panel with no geos (`ModelData::geos` empty); the
//! national series of a panel are the geos' sums (KPI, spend) and population-weighted means
//! (controls), so every national feature runs unchanged on geo data.

/// One geo of a panel, aligned with the national [`crate::dataset::ModelData`]: the same dates,
/// the same media (spec order) and the same regressors (design order).
#[derive(Debug, Clone, PartialEq)]
pub struct GeoSeries {
    /// The geo's name as the data's geo column spells it.
    pub name: String,
    /// Its population (the mean of the population column over its rows), when the data name
    /// one.
    pub population: Option<f64>,
    /// The KPI in this geo.
    pub y: Vec<f64>,
    /// Raw spend per media channel (spec order).
    pub spend: Vec<Vec<f64>>,
    /// Per national regressor (design order): this geo's values. Intercept and calendar terms
    /// (trend, seasonality, holidays, day of week) are the national ones; controls are the
    /// geo's own columns.
    pub regressors: Vec<Vec<f64>>,
}

impl GeoSeries {
    /// Number of periods.
    pub fn n_obs(&self) -> usize {
        self.y.len()
    }
}

/// The weights of the geos in national means of controls, from their populations (see
/// [`GeoSeries::population`]): `w_g = p_g / Σ_h p_h`, or `1/G` when any population is unknown.
pub fn population_weights(populations: &[Option<f64>]) -> Vec<f64> {
    let pops: Option<Vec<f64>> = populations.iter().copied().collect();
    match pops {
        Some(p) if p.iter().sum::<f64>() > 0.0 => {
            let total: f64 = p.iter().sum();
            p.iter().map(|v| v / total).collect()
        }
        _ => vec![1.0 / populations.len().max(1) as f64; populations.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_population_or_are_equal() {
        assert_eq!(
            population_weights(&[Some(1.0), Some(3.0)]),
            vec![0.25, 0.75]
        );
        assert_eq!(population_weights(&[Some(1.0), None]), vec![0.5, 0.5]);
    }
}
