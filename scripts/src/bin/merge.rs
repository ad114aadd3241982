//! `scripts/merge FILES...`: combines the JSON Lines result files of hunt shards into one
//! failure list, one table and the line `N passed, M failed`; exits non-zero on failures.

use std::path::PathBuf;

use clap::Parser;
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

fn main() {
    let args = Args::parse();
    std::process::exit(match merge(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("merge: {message}");
            2
        }
    });
}

fn merge(args: &Args) -> Result<i32, String> {
    let order = tester::registry::all::<scripts::Reference>()
        .iter()
        .map(|case| case.name.to_owned())
        .collect();
    let mut summary = Summary::new(order);
    let mut seen = std::collections::BTreeSet::new();
    let mut implementations = std::collections::BTreeSet::new();
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
            implementations.insert(record.implementation.clone());
            summary.add(&record);
        }
    }
    let implementations: Vec<String> = implementations.into_iter().collect();
    println!(
        "merged {} file(s): {} run(s) of {}",
        args.files.len(),
        summary.runs(),
        if implementations.is_empty() {
            "nothing".to_owned()
        } else {
            implementations.join(" and ")
        }
    );
    if duplicates > 0 {
        println!("{duplicates} duplicate run(s) (same implementation, test and seed) counted once");
    }
    if !summary.failures.is_empty() {
        println!("\nfailures ({}):", summary.failures.len());
        print!("{}", summary.failure_list());
    }
    println!();
    print!("{}", summary.table());
    if let Some(path) = &args.junit {
        std::fs::write(path, scripts::junit::render(&summary, "hunt (merged)"))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{}", summary.last_line());
    Ok(i32::from(summary.failed() > 0))
}
