use clap::Args;

use super::{Failure, Output};

/// Print the JSON Schema of settings.yaml, for editors with a YAML language server.
///
/// Put `# yaml-language-server: $schema=<path or URL of this schema>` at the top of
/// settings.yaml to get completion, documentation on hover and errors as you type.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn run(_args: &SchemaArgs) -> Result<Output, Failure> {
    Ok(Output {
        stdout: spa_schema::json_schema::json_schema(),
        ..Output::default()
    })
}
