//! The published per-line statistics of Figure 16 that our runs are compared with: only these
//! numbers, not the trials behind them (see `../shared/raft-fig16/PROVENANCE.md` for where they
//! come from: Ongaro's LogCabin trials, as published with heidihoward/ocaml-raft-data).

/// Which graph of Figure 16 a line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Graph {
    /// Top: 150 ms minimum, growing randomness; log x axis.
    Randomness,
    /// Bottom: growing timeouts, randomness equal to the minimum; linear 0–600 ms.
    Scale,
    /// 150–300 ms, in both.
    Both,
}

/// One line of Figure 16 as published: the timeout range and its trials' statistics, in ms.
/// Quantiles are nearest-rank; the median is the mean of the two middle trials.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaperLine {
    /// Shortest election timeout, ms.
    pub lo_ms: u64,
    /// Longest election timeout, ms.
    pub hi_ms: u64,
    /// Trials in the paper.
    pub trials: usize,
    /// Fastest trial.
    pub min: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub median: f64,
    /// Mean.
    pub mean: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest trial.
    pub max: f64,
    /// The 10th, 20th, ..., 90th percentiles.
    pub deciles: [f64; 9],
    /// Where it is drawn.
    pub graph: Graph,
    /// Whether the issue asks our CDF to lie within 5 points of this one at every decile.
    pub goal: bool,
}

impl PaperLine {
    /// `lo–hi`, as the paper labels it.
    pub fn label(&self) -> String {
        format!("{}-{}", self.lo_ms, self.hi_ms)
    }

    /// The published CDF as points (time ms, cumulative fraction): min, deciles, p95, p99,
    /// max.
    pub fn cdf_points(&self) -> Vec<(f64, f64)> {
        let mut points = vec![(self.min, 0.0)];
        for (k, &x) in self.deciles.iter().enumerate() {
            points.push((x, (k + 1) as f64 / 10.0));
        }
        points.extend([(self.p95, 0.95), (self.p99, 0.99), (self.max, 1.0)]);
        points
    }
}

#[allow(clippy::too_many_arguments)]
const fn line(
    (lo_ms, hi_ms, trials): (u64, u64, usize),
    [min, p25, median, mean, p75, p95, p99, max]: [f64; 8],
    deciles: [f64; 9],
    graph: Graph,
    goal: bool,
) -> PaperLine {
    PaperLine {
        lo_ms,
        hi_ms,
        trials,
        min,
        p25,
        median,
        mean,
        p75,
        p95,
        p99,
        max,
        deciles,
        graph,
        goal,
    }
}

use Graph::{Both, Randomness, Scale};

/// Every line of Figure 16, top graph first.
pub const LINES: [PaperLine; 10] = [
    line(
        (150, 150, 100),
        [
            9865.0, 28179.0, 40882.0, 54336.0, 60492.0, 104974.0, 255424.0, 528012.0,
        ],
        [
            18731.0, 27164.0, 30304.0, 36348.0, 40656.0, 49708.0, 56121.0, 66335.0, 84062.0,
        ],
        Randomness,
        false,
    ),
    line(
        (150, 151, 1000),
        [86.2, 737.0, 1198.0, 1536.0, 1939.0, 3901.0, 5982.0, 8232.0],
        [
            434.0, 689.0, 849.0, 1020.0, 1198.0, 1474.0, 1779.0, 2231.0, 3132.0,
        ],
        Randomness,
        false,
    ),
    line(
        (150, 155, 1000),
        [85.3, 154.0, 287.3, 345.0, 435.0, 763.0, 1224.0, 2143.0],
        [
            119.0, 143.0, 243.0, 267.0, 287.0, 308.0, 419.0, 452.0, 606.0,
        ],
        Randomness,
        true,
    ),
    line(
        (150, 175, 1000),
        [84.4, 121.0, 141.0, 164.0, 164.0, 313.0, 463.0, 610.0],
        [
            107.0, 116.0, 124.0, 133.0, 141.0, 150.0, 160.0, 173.0, 291.0,
        ],
        Randomness,
        true,
    ),
    line(
        (150, 200, 1000),
        [87.1, 125.0, 146.0, 156.0, 167.0, 293.0, 345.0, 512.5],
        [
            110.0, 120.0, 129.0, 138.0, 146.0, 154.0, 162.0, 172.0, 193.0,
        ],
        Randomness,
        true,
    ),
    line(
        (150, 300, 1000),
        [92.7, 144.0, 171.0, 181.0, 208.0, 264.0, 405.0, 603.0],
        [
            124.0, 138.0, 148.0, 160.0, 171.0, 185.0, 200.0, 216.0, 244.0,
        ],
        Both,
        true,
    ),
    line(
        (12, 24, 1000),
        [15.3, 24.4, 30.0, 34.7, 42.1, 66.2, 86.8, 151.7],
        [20.0, 23.0, 26.0, 28.0, 30.0, 33.0, 39.0, 45.0, 52.0],
        Scale,
        true,
    ),
    line(
        (25, 50, 1000),
        [24.0, 35.4, 43.0, 47.9, 52.4, 82.8, 118.0, 276.0],
        [31.0, 34.0, 37.0, 40.0, 43.0, 46.0, 50.0, 55.0, 73.0],
        Scale,
        true,
    ),
    line(
        (50, 100, 1000),
        [37.1, 56.0, 66.7, 71.3, 79.4, 120.0, 168.0, 253.0],
        [47.0, 54.0, 58.0, 62.0, 67.0, 71.0, 76.0, 84.0, 96.0],
        Scale,
        true,
    ),
    line(
        (100, 200, 1000),
        [65.7, 100.0, 120.1, 125.4, 145.0, 181.0, 273.0, 335.0],
        [85.0, 95.0, 105.0, 111.0, 120.0, 129.0, 140.0, 152.0, 165.0],
        Scale,
        true,
    ),
];

/// The published line for `lo–hi`, if Figure 16 has one.
pub fn find(lo_ms: u64, hi_ms: u64) -> Option<&'static PaperLine> {
    LINES
        .iter()
        .find(|line| line.lo_ms == lo_ms && line.hi_ms == hi_ms)
}
