//! A channel's reported metrics per period, found in the prepared table (see
//! [`mmm_core::kpi`] for the KPIs and the column naming).

use crate::prepare::LongColumns;
use mmm_core::data::Table;
use mmm_core::error::Result;
use mmm_core::kpi::KpiSeries;

/// The KPI series of a channel with spend column `spend_column` and spend as modeled, or
/// `None` when the data has none of its metric columns.
pub fn channel_series(
    table: &Table,
    channel: &str,
    spend_column: &str,
    spend: &[f64],
    names: &LongColumns,
) -> Result<Option<KpiSeries>> {
    let Some(prefix) = spend_column.strip_suffix(&format!(".{}", names.spend)) else {
        return Ok(None);
    };
    let get = |metric: &str| -> Result<Option<Vec<f64>>> {
        let col = format!("{prefix}.{metric}");
        if table.has_column(&col) {
            table.numeric(&col).map(Some)
        } else {
            Ok(None)
        }
    };
    let s = KpiSeries {
        channel: channel.to_string(),
        spend: spend.to_vec(),
        impressions: get(&names.impressions)?,
        clicks: get(&names.clicks)?,
        conversions: get(&names.conversions)?,
        revenue: get(&names.revenue)?,
    };
    if s.impressions.is_none()
        && s.clicks.is_none()
        && s.conversions.is_none()
        && s.revenue.is_none()
    {
        return Ok(None);
    }
    Ok(Some(s))
}
