//! fig16: the Raft paper's Figure 16 regenerated in simulation, for any Raft that implements
//! [`tester::fig16::SetTimeouts`]. `scripts/fig16` runs it on our reference Raft; your own
//! Raft's binary is one line: `fn main() { fig16::main::<MyRaft>() }`.
//!
//! Code map:
//! - `tester::fig16` (in the tester crate, no plotting): one trial, its setup and its metric.
//! - `paper.rs`: the published per-line statistics we compare with (no raw trials).
//! - `stats.rs`: quantiles, the table's summary, the gap between two CDFs at the deciles.
//! - `plot.rs`: the two graphs, SVG and PNG, ours over the paper's.
//! - this file: [`Line`], running lines on threads with progress ([`run_lines`]), the CSV and
//!   the table, and [`main`].
//!
//! A separate crate so that the plotting dependencies stay out of the crates students build.

pub mod paper;
pub mod plot;
pub mod stats;

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::Parser;
use tester::fig16::{DEFAULT_LIMIT_MS, Lan, SetTimeouts, Setup, Timeouts, Trial, run_trial};

use crate::paper::PaperLine;
use crate::stats::{Summary, max_decile_gap};

/// One line of the figure: a timeout range and how many trials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    /// Shortest election timeout, ms.
    pub lo_ms: u64,
    /// Longest election timeout, ms.
    pub hi_ms: u64,
    /// Trials to run.
    pub trials: usize,
    /// A trial still without leader after this long (ms) is cut off.
    pub limit_ms: u64,
    /// The network and disks.
    pub lan: Lan,
    /// A voter writes a newer term and its vote separately (LogCabin's behaviour; see
    /// [`Timeouts::voter_persists_term_first`]).
    pub voter_persists_term_first: bool,
}

impl Line {
    /// `lo-hi`.
    pub fn label(&self) -> String {
        format!("{}-{}", self.lo_ms, self.hi_ms)
    }

    /// The published line with the same range, if any.
    pub fn paper(&self) -> Option<&'static PaperLine> {
        paper::find(self.lo_ms, self.hi_ms)
    }

    /// The trial setup: the paper's timeouts (heartbeat = lo/2) on our LAN model.
    pub fn setup(&self) -> Setup {
        Setup {
            timeouts: Timeouts {
                voter_persists_term_first: self.voter_persists_term_first,
                ..Timeouts::paper(self.lo_ms, self.hi_ms)
            },
            lan: self.lan,
            limit_ms: self.limit_ms,
        }
    }
}

/// The paper's lines with the paper's trial counts (150–300 once).
pub fn paper_lines() -> Vec<Line> {
    paper::LINES
        .iter()
        .map(|line| Line {
            lo_ms: line.lo_ms,
            hi_ms: line.hi_ms,
            trials: line.trials,
            limit_ms: DEFAULT_LIMIT_MS,
            lan: Lan::PAPER,
            voter_persists_term_first: false,
        })
        .collect()
}

/// A line's trials, in seed order.
#[derive(Clone, Debug)]
pub struct LineResult {
    /// The line.
    pub line: Line,
    /// Its trials: seed `first_seed + k` is trial `k`.
    pub trials: Vec<Trial>,
}

impl LineResult {
    /// Times without leader, ms; infinity for a trial cut off.
    pub fn times_ms(&self) -> Vec<f64> {
        self.trials
            .iter()
            .map(|trial| {
                trial
                    .downtime_us
                    .map_or(f64::INFINITY, |us| us as f64 / 1000.0)
            })
            .collect()
    }
}

/// Runs every trial of `lines` of `R` on `jobs` threads, trial `k` of each line from seed
/// `first_seed + k` (so lines share their seeds: common random numbers). `progress` is called
/// after each trial with (done, total). Results do not depend on `jobs`.
pub fn run_lines<R: SetTimeouts>(
    lines: &[Line],
    first_seed: u64,
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<LineResult> {
    let work: Vec<(usize, usize)> = lines
        .iter()
        .enumerate()
        .flat_map(|(l, line)| (0..line.trials).map(move |k| (l, k)))
        .collect();
    let slots: Vec<Mutex<Vec<Option<Trial>>>> = lines
        .iter()
        .map(|line| Mutex::new(vec![None; line.trials]))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                while let Some(&(l, k)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let trial = run_trial::<R>(&lines[l].setup(), first_seed + k as u64);
                    slots[l].lock().expect("no panics hold it")[k] = Some(trial);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, work.len());
                }
            });
        }
    });
    lines
        .iter()
        .zip(slots)
        .map(|(&line, slot)| LineResult {
            line,
            trials: slot
                .into_inner()
                .expect("no panics hold it")
                .into_iter()
                .map(|trial| trial.expect("every trial ran"))
                .collect(),
        })
        .collect()
}

/// One row per trial: `line,lo_ms,hi_ms,trial,seed,downtime_ms,elections,messages`
/// (`downtime_ms` empty for a trial cut off).
pub fn csv(results: &[LineResult]) -> String {
    let mut out = String::from("line,lo_ms,hi_ms,trial,seed,downtime_ms,elections,messages\n");
    for result in results {
        let line = result.line;
        for (k, trial) in result.trials.iter().enumerate() {
            let downtime = trial
                .downtime_us
                .map_or(String::new(), |us| format!("{:.3}", us as f64 / 1000.0));
            let _ = writeln!(
                out,
                "{},{},{},{k},{},{downtime},{},{}",
                line.label(),
                line.lo_ms,
                line.hi_ms,
                trial.seed,
                trial.elections,
                trial.messages
            );
        }
    }
    out
}

/// Formats a time in ms for the table: a trial cut off shows as `>limit`.
fn ms(x: f64) -> String {
    match x {
        x if x.is_infinite() => "cut off".to_string(),
        x if x >= 1000.0 => format!("{x:.0}"),
        x => format!("{x:.1}"),
    }
}

/// The table: for each line, our row and the paper's, and the largest gap between the CDFs
/// at the paper's deciles (percentage points).
pub fn table(results: &[LineResult]) -> String {
    let mut out = String::from(
        "| line | source | n | min | p10 | p25 | median | mean | p75 | p90 | p95 | p99 | max | max decile gap |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for result in results {
        let times = result.times_ms();
        let ours = Summary::of(&times);
        let paper = result.line.paper();
        let gap = paper.map_or("–".to_string(), |p| {
            let goal = if p.goal { "" } else { " (no goal)" };
            format!("{:.1} pp{goal}", max_decile_gap(&times, p))
        });
        let cells = [
            ours.min,
            ours.deciles[0],
            ours.p25,
            ours.median,
            ours.mean,
            ours.p75,
            ours.deciles[8],
            ours.p95,
            ours.p99,
            ours.max,
        ];
        let cells: Vec<String> = cells.iter().map(|&x| ms(x)).collect();
        let _ = writeln!(
            out,
            "| {} | sim | {} | {} | {gap} |",
            result.line.label(),
            ours.trials,
            cells.join(" | ")
        );
        if let Some(p) = paper {
            let cells = [
                p.min,
                p.deciles[0],
                p.p25,
                p.median,
                p.mean,
                p.p75,
                p.deciles[8],
                p.p95,
                p.p99,
                p.max,
            ];
            let cells: Vec<String> = cells.iter().map(|&x| ms(x)).collect();
            let _ = writeln!(out, "| | paper | {} | {} | |", p.trials, cells.join(" | "));
        }
    }
    out
}

/// `scripts/fig16`'s command line.
#[derive(Parser, Debug)]
#[command(
    about = "Regenerate the Raft paper's Figure 16 (time without leader after a crash) in simulation",
    after_help = "Examples:\n  scripts/fig16                        every line of the figure, as in the paper\n  scripts/fig16 150-300 12-24 -n 200   two lines, 200 trials each\n  scripts/fig16 --out /tmp/f16          write the CSV, table and graphs there"
)]
pub struct Args {
    /// Timeout ranges `LO-HI` in ms; none runs the paper's ten lines with its trial counts
    pub ranges: Vec<String>,
    /// Trials per line (default: the paper's count, 1000, or 100 for 150-150)
    #[arg(short = 'n', long)]
    pub trials: Option<usize>,
    /// The first seed; trial k of every line runs from seed FIRST_SEED + k
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Parallel trials (default: available cores)
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Folder for fig16.csv, table.md and the graphs
    #[arg(short, long, default_value = "fig16-out")]
    pub out: PathBuf,
    /// No graphs (CSV and table only)
    #[arg(long)]
    pub no_graphs: bool,
    /// One network hop, µs, plus up to a tenth of it of jitter (default 250, the paper's LAN)
    #[arg(long)]
    pub hop_us: Option<u64>,
    /// One persist (fsync), µs, plus up to a quarter of it of jitter (default 4000)
    #[arg(long)]
    pub disk_us: Option<u64>,
    /// Voters write a newer term and their vote as two disk writes, as LogCabin does
    #[arg(long)]
    pub two_write_votes: bool,
    /// Timers fire up to this many µs late, uniformly (default 0: exact timers)
    #[arg(long)]
    pub timer_jitter_us: Option<u64>,
}

impl Args {
    /// The network model: [`Lan::PAPER`] unless `--hop-us` or `--disk-us` say otherwise.
    pub fn lan(&self) -> Lan {
        let mut lan = Lan::PAPER;
        if let Some(hop_us) = self.hop_us {
            lan.hop = labrpc::Latency::lan(hop_us);
        }
        if let Some(disk_us) = self.disk_us {
            lan.disk = labrpc::Latency {
                min_us: disk_us,
                spread_us: disk_us / 4,
            };
        }
        if let Some(jitter_us) = self.timer_jitter_us {
            lan.timer_jitter = labrpc::Latency {
                min_us: 0,
                spread_us: jitter_us,
            };
        }
        lan
    }
}

/// Parses `LO-HI`.
pub fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = text
        .split_once(['-', '–'])
        .ok_or_else(|| format!("{text}: expected LO-HI in ms, like 150-300"))?;
    let lo: u64 = lo.trim().parse().map_err(|_| format!("{text}: bad LO"))?;
    let hi: u64 = hi.trim().parse().map_err(|_| format!("{text}: bad HI"))?;
    if lo < 2 || hi < lo {
        return Err(format!("{text}: need 2 <= LO <= HI"));
    }
    Ok((lo, hi))
}

/// The lines `args` asks for.
pub fn lines_of(args: &Args) -> Result<Vec<Line>, String> {
    if args.ranges.is_empty() {
        let mut lines = paper_lines();
        for line in &mut lines {
            line.trials = args.trials.unwrap_or(line.trials);
            line.lan = args.lan();
            line.voter_persists_term_first = args.two_write_votes;
        }
        return Ok(lines);
    }
    args.ranges
        .iter()
        .map(|text| {
            let (lo_ms, hi_ms) = parse_range(text)?;
            let paper_trials = paper::find(lo_ms, hi_ms).map_or(1000, |p| p.trials);
            Ok(Line {
                lo_ms,
                hi_ms,
                trials: args.trials.unwrap_or(paper_trials),
                limit_ms: DEFAULT_LIMIT_MS,
                lan: args.lan(),
                voter_persists_term_first: args.two_write_votes,
            })
        })
        .collect()
}

/// Progress on stderr: a bar on a terminal, else a line at every tenth.
fn progress_reporter() -> Box<dyn Fn(usize, usize) + Sync> {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("fig16 {bar:40} {pos}/{len} trials {eta}")
                .expect("a valid template"),
        );
        Box::new(move |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if done == total {
                bar.finish_and_clear();
            }
        })
    } else {
        Box::new(|done, total| {
            if done * 10 / total != (done - 1) * 10 / total || done == total {
                eprintln!("fig16: {done}/{total} trials");
            }
        })
    }
}

/// `scripts/fig16` for the Raft `R`: runs the lines, writes `fig16.csv`, `table.md` and the
/// graphs (`fig16-top.{svg,png}`, `fig16-bottom.{svg,png}`) to `--out`, prints the table.
pub fn main<R: SetTimeouts>() {
    let args = Args::parse();
    let lines = lines_of(&args).unwrap_or_else(|error| {
        eprintln!("fig16: {error}");
        std::process::exit(2)
    });
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let started = Instant::now();
    let results = run_lines::<R>(&lines, args.first_seed, jobs, &*progress_reporter());
    let elapsed = started.elapsed();
    if let Err(error) = write_outputs(&args, &results) {
        eprintln!("fig16: writing to {}: {error}", args.out.display());
        std::process::exit(1);
    }
    print!("{}", table(&results));
    let trials: usize = lines.iter().map(|line| line.trials).sum();
    println!(
        "{trials} trials in {:.1} s on {jobs} threads; wrote {}",
        elapsed.as_secs_f64(),
        args.out.display()
    );
}

fn write_outputs(args: &Args, results: &[LineResult]) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("fig16.csv"), csv(results))?;
    std::fs::write(args.out.join("table.md"), table(results))?;
    if !args.no_graphs {
        plot::draw_all(results, &args.out)?;
    }
    Ok(())
}
