//! The `spa` binary: the only place that prints errors and chooses exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use spa_controller::cli::{self, Cli, Failure, Output, exit};

// Validation of a large fleet allocates hundreds of thousands of small values; mimalloc
// makes that about 15% faster than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn print(output: &Output) {
    // A closed pipe (`spa schema | head`) is not an error worth a panic.
    let _ = std::io::stderr().write_all(output.stderr.as_bytes());
    let _ = std::io::stdout().write_all(output.stdout.as_bytes());
}

/// Human-readable warnings for commands; JSON lines at info level for the controller.
fn init_logging(controller: bool) {
    let default = if controller { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if controller {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
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
    let controller = matches!(
        cli.command,
        cli::Command::Controller(cli::controller::ControllerCommand::Run(_))
    );
    init_logging(controller);
    match cli::run(cli) {
        Ok(output) => {
            print(&output);
            ExitCode::from(exit::SUCCESS)
        }
        Err(Failure::Invalid(output)) => {
            print(&output);
            ExitCode::from(exit::INVALID_SETTINGS)
        }
        Err(Failure::Partial(output)) => {
            print(&output);
            ExitCode::from(exit::FAILURE)
        }
        Err(Failure::Changes(output)) => {
            print(&output);
            ExitCode::from(exit::CHANGES_PENDING)
        }
        Err(Failure::Refused(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(exit::FAILURE)
        }
        Err(Failure::Usage(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(exit::USAGE)
        }
        Err(Failure::Runtime(error)) => {
            let mut message = format!("error: {error}\n");
            for cause in error.chain().skip(1) {
                message.push_str(&format!("  caused by: {cause}\n"));
            }
            let _ = std::io::stderr().write_all(message.as_bytes());
            ExitCode::from(exit::FAILURE)
        }
    }
}
