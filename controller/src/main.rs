//! The `spa` binary: the only place that writes to the terminal and chooses exit codes.
//! Commands get a [`Terminal`] (the [`Printer`] here) for what shows while they run, and
//! return the rest as an `Output` or a `Failure`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use clap::Parser;
use spa_controller::cli::terminal::{Progressing, no_color_env};
use spa_controller::cli::{self, Cli, ColorWhen, Failure, LogFormat, Output, Terminal, exit};
use spa_schema::diag;

// Validation of a large fleet allocates hundreds of thousands of small values; mimalloc
// makes that about 15% faster than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// stdout and stderr, each coloured or not as `--color` says; styles written by commands
/// are stripped where colour is off.
struct Printer {
    stdout: ColorChoice,
    stderr: ColorChoice,
    stdin_is_terminal: bool,
    stdout_is_terminal: bool,
    stderr_is_terminal: bool,
}

impl Printer {
    fn new(when: ColorWhen) -> Printer {
        let no_color = no_color_env();
        let stdout_is_terminal = std::io::stdout().is_terminal();
        let stderr_is_terminal = std::io::stderr().is_terminal();
        let choice = |terminal| {
            if when.colors(terminal, no_color) {
                ColorChoice::Always
            } else {
                ColorChoice::Never
            }
        };
        Printer {
            stdout: choice(stdout_is_terminal),
            stderr: choice(stderr_is_terminal),
            stdin_is_terminal: std::io::stdin().is_terminal(),
            stdout_is_terminal,
            stderr_is_terminal,
        }
    }

    /// `error: message`, the label in red where colour is on.
    fn error(&self, message: &str) {
        const LABEL: Style = AnsiColor::Red.on_default().bold();
        self.err(&format!("{LABEL}error{LABEL:#}: {message}\n"));
    }
}

// A closed pipe (`spa schema | head`) is not an error worth a panic: write errors are
// dropped.
impl Terminal for Printer {
    fn out(&self, text: &str) {
        let mut stream = AutoStream::new(std::io::stdout().lock(), self.stdout);
        let _ = stream.write_all(text.as_bytes());
        let _ = stream.flush();
    }

    fn err(&self, text: &str) {
        let mut stream = AutoStream::new(std::io::stderr().lock(), self.stderr);
        let _ = stream.write_all(text.as_bytes());
        let _ = stream.flush();
    }

    fn confirm(&self, question: &str) -> bool {
        if !(self.stdin_is_terminal && self.stderr_is_terminal) {
            return false;
        }
        self.err(&format!("{question} Only `yes` is accepted: "));
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        answer.trim() == "yes"
    }

    fn stdout_is_terminal(&self) -> bool {
        self.stdout_is_terminal
    }

    fn stderr_is_terminal(&self) -> bool {
        self.stderr_is_terminal
    }

    fn diagnostics_style(&self) -> diag::Style {
        if self.stderr == ColorChoice::Always {
            diag::Style::Color
        } else {
            diag::Style::Plain
        }
    }

    fn progress(&self, what: &str) -> Option<Box<dyn Progressing>> {
        if !self.stderr_is_terminal {
            return None;
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
                .with_prefix(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(Box::new(Bar(bar)))
    }
}

/// A progress bar on stderr: counts, rate and time left once the total is known, a
/// spinner with the count before.
struct Bar(indicatif::ProgressBar);

impl Progressing for Bar {
    fn update(&self, done: u64, total: Option<u64>, note: &str) {
        let template = match total {
            Some(_) => {
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, {eta} left) {msg}"
            }
            None => "{spinner} {prefix} [{elapsed_precise}] {pos} ({per_sec}) {msg}",
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            self.0.set_style(style);
        }
        if let Some(total) = total {
            self.0.set_length(total);
        }
        self.0.set_position(done);
        self.0.set_message(note.to_string());
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn init_logging(format: LogFormat, controller: bool, ansi: bool) {
    // Commands log warnings only: their output is what people read.
    let default = if controller { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.with_ansi(ansi).init(),
    }
}

fn print(printer: &Printer, output: &Output) {
    printer.err(&output.stderr);
    printer.out(&output.stdout);
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    let printer = Arc::new(Printer::new(cli.color));
    let ansi = printer.stderr == ColorChoice::Always;
    init_logging(cli.log_format(), cli.is_controller(), ansi);
    let term: cli::Term = printer.clone();
    let code = match cli::run(cli, &term) {
        Ok(output) => {
            print(&printer, &output);
            exit::SUCCESS
        }
        Err(Failure::Invalid(output)) => {
            print(&printer, &output);
            exit::INVALID_SETTINGS
        }
        Err(Failure::Partial(output)) => {
            print(&printer, &output);
            exit::FAILURE
        }
        Err(Failure::Changes(output)) => {
            print(&printer, &output);
            exit::CHANGES_PENDING
        }
        Err(Failure::Refused(message)) => {
            printer.error(&message);
            exit::FAILURE
        }
        Err(Failure::Usage(message)) => {
            printer.error(&message);
            exit::USAGE
        }
        Err(Failure::Runtime(error)) => {
            let mut message = error.to_string();
            for cause in error.chain().skip(1) {
                message.push_str(&format!("\n  caused by: {cause}"));
            }
            printer.error(&message);
            exit::FAILURE
        }
    };
    ExitCode::from(code)
}
