//! The settings a command works from: the source opened at a revision, then loaded and,
//! for anything that reads or changes AWS, valid.

use spa_schema::diag::Style;
use spa_schema::{Loaded, Settings};

use crate::cli::args::SourceArgs;
use crate::cli::{Failure, Output};
use crate::source::Source;

/// Opens the repository at the revision the flags name.
pub fn open(args: &SourceArgs) -> Result<Source, Failure> {
    Source::open(&args.options()).map_err(|error| Failure::Runtime(anyhow::Error::new(error)))
}

/// Everything the settings of `source` say, with every diagnostic.
pub fn load(source: &Source, settings_file: &str) -> Loaded {
    spa_schema::load(source, settings_file)
}

/// Valid settings, or a failure (exit 3) carrying the diagnostics (the first
/// [`spa_schema::diag::DEFAULT_LIMIT`]) and `consequence`: what the command did not do.
pub fn load_valid(
    source: &Source,
    settings_file: &str,
    consequence: &str,
    style: Style,
) -> Result<Settings, Failure> {
    let loaded = load(source, settings_file);
    match loaded.valid() {
        Some(settings) => Ok(settings.clone()),
        None => Err(Failure::Invalid(Output {
            stderr: format!(
                "{}error: the settings at {} are invalid; {consequence}\nhint: `spa validate` lists every problem\n",
                loaded.render(style),
                source.revision()
            ),
            ..Output::default()
        })),
    }
}

/// [`open`] then [`load_valid`]: what most commands start with.
pub fn open_valid(
    args: &SourceArgs,
    consequence: &str,
    style: Style,
) -> Result<(Source, Settings), Failure> {
    let source = open(args)?;
    let settings = load_valid(&source, &args.settings, consequence, style)?;
    Ok((source, settings))
}
