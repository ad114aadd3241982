//! `scripts/merge FILES...`: combines the JSON Lines result files of hunt shards into one
//! failure list and one table per implementation (reference, canary, a student's Raft: never
//! mixed in one row), then the line `N passed, M failed` over all of them; exits non-zero on
//! failures, and with 2 when the files hold no run at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use scripts::junit::{self, Suite};
use scripts::record::{Summary, read_jsonl};

/// Combine the --jsonl result files of hunt shards into one report.
#[derive(Parser, Debug)]
#[command(name = "merge")]
struct Args {
    /// Result files written by `scripts/hunt --jsonl`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also write a JUnit XML report of the merged results.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match merge(&args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("merge: {message}");
            ExitCode::from(2)
        }
    }
}

fn merge(args: &Args) -> Result<u8, String> {
    let order: Vec<String> = tester::registry::NAMES
        .iter()
        .chain(tester::nemesis::NAMES.iter())
        .map(|name| (*name).to_owned())
        .collect();
    // One summary per implementation: a canary's failures must not mix with the reference's.
    let mut summaries: BTreeMap<String, Summary> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut duplicates = 0u64;
    for path in &args.files {
        for record in read_jsonl(path)? {
            let key = (
                record.implementation.clone(),
                record.test.clone(),
                record.seed,
            );
            if !seen.insert(key) {
                duplicates += 1;
                continue;
            }
            summaries
                .entry(record.implementation.clone())
                .or_insert_with(|| Summary::new(order.clone()))
                .add(&record);
        }
    }
    let runs: u64 = summaries.values().map(Summary::runs).sum();
    if runs == 0 {
        return Err(format!(
            "the {} file(s) hold no runs: nothing to merge",
            args.files.len()
        ));
    }
    let names: Vec<&str> = summaries.keys().map(String::as_str).collect();
    println!(
        "merged {} file(s): {runs} run(s) of {}",
        args.files.len(),
        names.join(" and ")
    );
    if duplicates > 0 {
        println!("{duplicates} duplicate run(s) (same implementation, test and seed) counted once");
    }
    let several = summaries.len() > 1;
    for (implementation, summary) in &summaries {
        if several {
            println!("\n=== {implementation}: {}", summary.last_line());
        }
        if !summary.failures.is_empty() {
            println!("\n{}", summary.failure_header());
            print!("{}", summary.failure_list());
        }
        if let Some(warnings) = summary.warning_list() {
            print!("\n{warnings}");
        }
        println!();
        print!("{}", summary.table());
    }
    if let Some(path) = &args.junit {
        let suites: Vec<Suite<'_>> = summaries
            .iter()
            .map(|(implementation, summary)| Suite {
                name: format!("hunt ({implementation})"),
                summary,
            })
            .collect();
        std::fs::write(path, junit::render("hunt (merged)", &suites, None))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let failed: u64 = summaries.values().map(Summary::failed).sum();
    if several {
        println!("\nall implementations together:");
    }
    println!("{} passed, {failed} failed", runs - failed);
    Ok(u8::from(failed > 0))
}
