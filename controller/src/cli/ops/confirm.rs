//! Nothing changes before a person has seen what will and said yes (or passed `--yes`).

use crate::cli::Failure;
use crate::cli::terminal::Terminal;

/// Shows `preview` (data: stdout), then asks `question` unless `yes`; a refusal, or no
/// terminal to ask on, is [`Failure::Refused`] saying that nothing was changed.
pub fn ask(term: &dyn Terminal, yes: bool, question: &str, preview: &str) -> Result<(), Failure> {
    term.out(preview);
    if yes || term.confirm(question) {
        return Ok(());
    }
    Err(Failure::Refused(
        "not confirmed: pass --yes to go ahead; nothing was changed".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::terminal::Recording;

    #[test]
    fn the_preview_comes_first_and_only_yes_goes_ahead() {
        let term = Recording::answering(true);
        assert!(ask(&term, false, "Go?", "  a → b\n").is_ok());
        assert_eq!(term.stdout(), "  a → b\n");
        assert_eq!(term.questions(), ["Go?"]);

        let term = Recording::answering(false);
        let refused = ask(&term, false, "Go?", "preview\n");
        assert!(matches!(refused, Err(Failure::Refused(m)) if m.contains("nothing was changed")));

        let term = Recording::default();
        assert!(ask(&term, true, "Go?", "preview\n").is_ok());
        assert!(term.questions().is_empty(), "--yes asks nothing");
    }
}
