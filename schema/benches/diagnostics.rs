#![allow(clippy::print_stdout)] // a benchmark reports on stdout
//! Benchmark: a settings repository whose CSV file has an error on every row (the `Account`
//! cell is not 12 digits, as after a spreadsheet turned ids into numbers): load it, then
//! render its diagnostics as text (bounded, as by default, and every one of them) and as
//! JSON (every diagnostic, and the bounded summary).
//!
//! `cargo bench -p spa-schema --bench diagnostics` uses a CSV file of 8 MiB (the largest
//! file spa reads); `-- --size BYTES` picks another size and `-- --runs N` the number of runs.

use std::time::{Duration, Instant};

use spa_schema::diag::{DEFAULT_LIMIT, Style};
use spa_schema::{MAX_FILE_SIZE, MemoryFiles, load};

// The same allocator as the `spa` binary, so that in-process numbers match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A CSV file of at most `size` bytes where every row has an invalid account id.
fn generate(size: usize) -> (String, usize) {
    let mut csv = String::from("Account,Note,Tag: cost-center\n");
    let mut rows = 0;
    loop {
        let row = format!(
            "1.23457E+11,row {rows} of the FinOps export,CC-{}\n",
            rows % 250
        );
        if csv.len() + row.len() > size {
            break;
        }
        csv.push_str(&row);
        rows += 1;
    }
    (csv, rows)
}

fn argument(args: &[String], name: &str) -> Option<usize> {
    let position = args.iter().position(|a| a == name)?;
    args.get(position + 1)?.parse().ok()
}

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = argument(&args, "--size").unwrap_or(MAX_FILE_SIZE as usize);
    let runs = argument(&args, "--runs").unwrap_or(5).max(1);
    let (csv, rows) = generate(size);
    let files = MemoryFiles::new()
        .with(
            "settings.yaml",
            "environment_identifier: SpaBench\nfeatures:\n  with_csv_files:\n    - finops.csv\n",
        )
        .with("finops.csv", csv.clone());
    let mut times: [Vec<Duration>; 5] = Default::default();
    let (mut diagnostics, mut sizes) = (0, [0; 5]);
    for _ in 0..runs {
        let start = Instant::now();
        let loaded = load(&files, "settings.yaml");
        times[0].push(start.elapsed());
        diagnostics = loaded.diagnostics.len();

        let start = Instant::now();
        sizes[1] = loaded.render(Style::Plain).len();
        times[1].push(start.elapsed());

        let start = Instant::now();
        sizes[2] = loaded.render_all(Style::Plain).len();
        times[2].push(start.elapsed());

        let start = Instant::now();
        sizes[3] = serde_json::to_string(&loaded.summary(DEFAULT_LIMIT))
            .expect("the summary serialises")
            .len();
        times[3].push(start.elapsed());

        let start = Instant::now();
        sizes[4] = serde_json::to_string(&loaded.diagnostics)
            .expect("diagnostics serialise")
            .len();
        times[4].push(start.elapsed());
    }
    println!(
        "{} KB CSV, {rows} rows, {diagnostics} diagnostics, median of {runs}: load {:.1} ms; \
         text, first {DEFAULT_LIMIT} and counts: {:.1} ms ({} KB); text, every diagnostic: {:.1} ms ({} KB); \
         JSON summary: {:.1} ms ({} KB); JSON of every diagnostic: {:.1} ms ({} KB)",
        csv.len() / 1024,
        median(&mut times[0]),
        median(&mut times[1]),
        sizes[1] / 1024,
        median(&mut times[2]),
        sizes[2] / 1024,
        median(&mut times[3]),
        sizes[3] / 1024,
        median(&mut times[4]),
        sizes[4] / 1024,
    );
}
