//! Statistics of one line's trials, as the paper's table gives them, and the comparison of
//! two CDFs at the paper's deciles.

use crate::paper::PaperLine;

/// A line's trials summarised, in ms (trials cut off without a leader count as +infinity).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Trials.
    pub trials: usize,
    /// Trials cut off still without a leader.
    pub unfinished: usize,
    /// Fastest.
    pub min: f64,
    /// 10th, 20th, ..., 90th percentiles (nearest rank).
    pub deciles: [f64; 9],
    /// 25th percentile.
    pub p25: f64,
    /// Median: the mean of the two middle trials for an even count.
    pub median: f64,
    /// Mean (infinite if a trial was cut off).
    pub mean: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// Nearest-rank quantile `q` of sorted samples: the smallest sample with at least `q` of the
/// samples at or below it.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The fraction of samples at or below `x` (the empirical CDF).
pub fn cdf_at(sorted: &[f64], x: f64) -> f64 {
    sorted.partition_point(|&sample| sample <= x) as f64 / sorted.len() as f64
}

impl Summary {
    /// Summarises `times_ms` (any order; `f64::INFINITY` for a trial cut off). Panics if
    /// empty.
    pub fn of(times_ms: &[f64]) -> Summary {
        assert!(!times_ms.is_empty(), "no trials to summarise");
        let mut sorted = times_ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n % 2 {
            1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Summary {
            trials: n,
            unfinished: sorted.iter().filter(|t| t.is_infinite()).count(),
            min: sorted[0],
            deciles: std::array::from_fn(|k| quantile(&sorted, (k + 1) as f64 / 10.0)),
            p25: quantile(&sorted, 0.25),
            median,
            mean: sorted.iter().sum::<f64>() / n as f64,
            p75: quantile(&sorted, 0.75),
            p95: quantile(&sorted, 0.95),
            p99: quantile(&sorted, 0.99),
            max: sorted[n - 1],
        }
    }
}

/// The largest vertical distance, in percentage points, between our CDF and the paper's at
/// the paper's deciles: at each paper decile `x_k` (where the paper's CDF is `k/10`), how far
/// the fraction of our trials at or below `x_k` is from `k/10`.
pub fn max_decile_gap(times_ms: &[f64], paper: &PaperLine) -> f64 {
    let mut sorted = times_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    paper
        .deciles
        .iter()
        .enumerate()
        .map(|(k, &x)| (cdf_at(&sorted, x) - (k + 1) as f64 / 10.0).abs() * 100.0)
        .fold(0.0, f64::max)
}

/// Whether the samples, sorted, give a CDF that never decreases and ends at 1: a sanity check
/// of the summary (every empirical CDF is; a bug in sorting or in the cut-offs is not).
pub fn cdf_is_monotone(times_ms: &[f64]) -> bool {
    let mut sorted = times_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let fractions: Vec<f64> = sorted.iter().map(|&x| cdf_at(&sorted, x)).collect();
    fractions.windows(2).all(|pair| pair[0] <= pair[1])
        && fractions
            .last()
            .is_some_and(|&last| last == 1.0 || sorted.iter().any(|t| t.is_infinite()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_and_the_median_averages_the_middle_pair() {
        let times: Vec<f64> = (1..=10).map(f64::from).collect();
        let summary = Summary::of(&times);
        assert_eq!(
            summary.deciles,
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        );
        assert_eq!(summary.median, 5.5);
        assert_eq!(summary.p95, 10.0);
        assert_eq!((summary.min, summary.max, summary.mean), (1.0, 10.0, 5.5));
    }

    #[test]
    fn the_gap_is_zero_against_itself_and_counts_points() {
        let paper = crate::paper::find(150, 300).unwrap();
        // Ten trials at each decile and ten above the last: the CDF is k/10 at decile k.
        let mut times: Vec<f64> = paper.deciles.iter().flat_map(|&x| [x; 10]).collect();
        times.extend([1000.0; 10]);
        assert!(max_decile_gap(&times, paper) < 1e-9);
        let slow: Vec<f64> = paper.deciles.iter().map(|x| x * 10.0).collect();
        assert!((max_decile_gap(&slow, paper) - 90.0).abs() < 1e-9);
    }
}
