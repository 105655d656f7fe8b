//! The command lines the installation's templates give the binary must parse: a flag
//! renamed in the code and not in `deploy/` would stop every task at start.

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    /// The container's `Command:` list of `deploy/automation.yaml`, references replaced by
    /// a placeholder.
    fn container_command() -> Vec<String> {
        let template = include_str!("../../../deploy/automation.yaml");
        let mut lines = template
            .lines()
            .skip_while(|l| l.trim() != "Command:")
            .skip(1);
        let mut args = vec!["spa".to_string()];
        for line in lines.by_ref() {
            let Some(item) = line.trim().strip_prefix("- ") else {
                break;
            };
            args.push(if item.starts_with('!') {
                "https://example.com/value".to_string()
            } else {
                item.to_string()
            });
        }
        args
    }

    #[test]
    fn the_automation_templates_controller_command_parses() {
        let args = container_command();
        assert!(args.contains(&"--alerts-queue-url".to_string()), "{args:?}");
        let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(matches!(cli.command, Command::Controller(_)));
        // The health check too.
        Cli::try_parse_from(["spa", "controller", "health"]).unwrap();
    }
}
