//! What the hunt shows while it runs: on a terminal, a live overall progress bar with ETA and
//! one row per test that turns red at its first failure (indicatif); otherwise plain lines,
//! with a progress line every few seconds.

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often plain mode prints a progress line.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The live display of a hunt.
pub enum Display {
    /// Progress bars on a terminal.
    Bars {
        /// Owns the rows.
        multi: MultiProgress,
        /// All runs.
        overall: ProgressBar,
        /// One per test.
        rows: Vec<ProgressBar>,
        /// Whether each test has failed yet.
        red: Vec<bool>,
        /// Failures per test.
        failed: Vec<u64>,
        /// The red row style.
        red_style: ProgressStyle,
    },
    /// Plain lines (not a terminal).
    Plain {
        /// When the hunt started.
        started: Instant,
        /// When the last progress line was printed.
        last: Instant,
        /// Runs finished.
        done: u64,
        /// Runs finished before this process (resumed).
        resumed: u64,
        /// Runs planned.
        total: u64,
        /// Failures so far.
        failures: u64,
    },
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a valid progress template")
        .progress_chars("=> ")
}

impl Display {
    /// A display for `tests` with `(done, total)` runs each; bars if `terminal`.
    pub fn new(tests: &[(&str, u64, u64)], terminal: bool) -> Display {
        let done: u64 = tests.iter().map(|t| t.1).sum();
        let total: u64 = tests.iter().map(|t| t.2).sum();
        if !terminal {
            let now = Instant::now();
            return Display::Plain {
                started: now,
                last: now,
                done,
                resumed: done,
                total,
                failures: 0,
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total).with_position(done));
        overall.set_style(style(
            "{spinner} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} runs  ETA {eta}  {msg}",
        ));
        overall.set_message("0 failed");
        overall.reset_eta();
        overall.enable_steady_tick(Duration::from_millis(200));
        let width = tests.iter().map(|t| t.0.len()).max().unwrap_or(10);
        let green = style(&format!(
            "  {{prefix:<{width}}} {{bar:24.green/white}} {{pos:>7}}/{{len:<7}} {{msg}}"
        ));
        let red_style = style(&format!(
            "  {{prefix:<{width}.red.bold}} {{bar:24.red/white}} {{pos:>7}}/{{len:<7}} \
             {{msg:.red.bold}}"
        ));
        let rows = tests
            .iter()
            .map(|&(name, done, total)| {
                let row = multi.add(ProgressBar::new(total).with_position(done));
                row.set_style(green.clone());
                row.set_prefix(name.to_owned());
                row
            })
            .collect();
        Display::Bars {
            multi,
            overall,
            rows,
            red: vec![false; tests.len()],
            failed: vec![0; tests.len()],
            red_style,
        }
    }

    /// Counts a finished run of test number `test`.
    pub fn record(&mut self, test: usize, passed: bool) {
        match self {
            Display::Bars {
                overall,
                rows,
                red,
                failed,
                red_style,
                ..
            } => {
                overall.inc(1);
                rows[test].inc(1);
                if !passed {
                    failed[test] += 1;
                    if !red[test] {
                        red[test] = true;
                        rows[test].set_style(red_style.clone());
                    }
                    rows[test].set_message(format!("{} failed", failed[test]));
                    let total: u64 = failed.iter().sum();
                    overall.set_message(format!("{total} failed"));
                }
            }
            Display::Plain { done, failures, .. } => {
                *done += 1;
                *failures += u64::from(!passed);
            }
        }
        self.tick();
    }

    /// Prints a line above the bars (or as is).
    pub fn println(&self, text: &str) {
        match self {
            Display::Bars { multi, .. } => {
                if multi.println(text).is_err() {
                    eprintln!("{text}");
                }
            }
            Display::Plain { .. } => println!("{text}"),
        }
    }

    /// Plain mode: prints a progress line if it is time.
    pub fn tick(&mut self) {
        if let Display::Plain {
            started,
            last,
            done,
            resumed,
            total,
            failures,
        } = self
            && last.elapsed() >= PLAIN_EVERY
        {
            *last = Instant::now();
            let elapsed = started.elapsed().as_secs_f64();
            let rate = (*done - *resumed) as f64 / elapsed.max(1e-9);
            let left = total.saturating_sub(*done) as f64 / rate.max(1e-9);
            println!(
                "progress: {done}/{total} runs ({:.1}%), {failures} failed, {rate:.1} runs/s, ETA {}",
                100.0 * *done as f64 / (*total).max(1) as f64,
                human_duration(left)
            );
        }
    }

    /// Removes the bars (the final table follows).
    pub fn finish(&mut self) {
        if let Display::Bars {
            multi,
            overall,
            rows,
            ..
        } = self
        {
            overall.finish_and_clear();
            for row in rows.iter() {
                row.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }
}

/// `1h02m`, `4m05s`, `12s`.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    if seconds < 10.0 {
        return format!("{seconds:.1}s");
    }
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}
