//! `dislog-bench`: runs W1–W6 and batch appends against dislog's file
//! backend, a plain buffered file and the `commitlog` crate in one run, and
//! prints a Markdown table of medians with dislog's speed ratios.
//!
//! ```text
//! cargo run --release -p dislog-bench -- [--records N] [--big-records N]
//!     [--reads N] [--runs N] [--reopens N] [--dir DIR] [--quick]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use dislog_bench::engines::{Baseline, CommitLog, Dislog, Engine};
use dislog_bench::workloads::{run, Options};
use dislog_bench::{report, BenchResult};

const USAGE: &str = "usage: dislog-bench [--records N] [--big-records N] [--reads N] [--runs N] \
[--reopens N] [--dir DIR] [--quick]
  defaults: 1,000,000 records of 100 B, 50,000 of 4 KiB, 1,000,000 random reads,
  3 runs, 21 reopens, logs under target/dislog-bench (a real disk, not tmpfs);
  --quick: 100,000 / 5,000 / 100,000, 1 run, 3 reopens (a smoke test)";

fn parse() -> BenchResult<Options> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut options = Options {
        records: 1_000_000,
        big_records: 50_000,
        reads: 1_000_000,
        runs: 3,
        reopens: 21,
        dir: root.join("target").join("dislog-bench"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--records" => options.records = value()?.parse()?,
            "--big-records" => options.big_records = value()?.parse()?,
            "--reads" => options.reads = value()?.parse()?,
            "--runs" => options.runs = value()?.parse()?,
            "--reopens" => options.reopens = value()?.parse()?,
            "--dir" => options.dir = PathBuf::from(value()?),
            "--quick" => {
                options.records = 100_000;
                options.big_records = 5_000;
                options.reads = 100_000;
                options.runs = 1;
                options.reopens = 3;
            }
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if options.records == 0 || options.runs == 0 || options.reopens == 0 {
        return Err("--records, --runs and --reopens must be at least 1".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    match parse().and_then(|options| {
        std::fs::create_dir_all(&options.dir)?;
        let warning = report::page_reporting_warning();
        if let Some(w) = &warning {
            eprintln!("{w}");
        }
        let mut engines: Vec<Box<dyn Engine>> = vec![
            Box::new(Dislog::default()),
            Box::new(Baseline::default()),
            Box::new(CommitLog::default()),
        ];
        let results = run(&options, &mut engines, |step| eprintln!("  {step}"))?;
        println!(
            "dislog-bench: {} records of 100 B, {} of 4 KiB, {} random reads; median of {} runs ({} reopens)",
            options.records, options.big_records, options.reads, options.runs, options.reopens
        );
        println!("machine: {}", report::machine(&options.dir));
        if let Some(w) = &warning {
            println!("{w}");
        }
        println!();
        print!("{}", report::table(&results));
        std::fs::remove_dir_all(&options.dir)?;
        Ok(())
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dislog-bench: {e}");
            let mut source = std::error::Error::source(&*e);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
