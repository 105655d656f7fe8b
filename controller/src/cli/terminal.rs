//! The one interface between the commands and the person (or pipe) at the other end: data
//! to stdout, progress and questions to stderr, and whether each is a terminal. `main.rs`
//! implements it on the real streams; tests use [`Recording`].

use std::sync::{Arc, Mutex};

use clap::ValueEnum;
use spa_schema::diag::Style;

/// Where a command writes while it runs. Styled text (anstyle) may be written to both
/// streams: an implementation strips the styles where colour is off.
pub trait Terminal: Send + Sync {
    /// Data: what a script would read (summaries, tables, JSON, previews of changes).
    fn out(&self, text: &str);
    /// Everything else: progress, notes, diagnostics, errors.
    fn err(&self, text: &str);
    /// Asks `question` on stderr and reads the answer; true only when a person at a
    /// terminal typed `yes`. Without a terminal, false at once.
    fn confirm(&self, question: &str) -> bool;
    fn stdout_is_terminal(&self) -> bool;
    fn stderr_is_terminal(&self) -> bool;
    /// How the settings' diagnostics are rendered for stderr (colour or not).
    fn diagnostics_style(&self) -> Style;
    /// A progress bar on stderr (counts, rate, time left) when stderr is a terminal;
    /// `None` elsewhere: the caller then writes a line every few seconds.
    fn progress(&self, _what: &str) -> Option<Box<dyn Progressing>> {
        None
    }
}

/// A progress display that a command updates while it works.
pub trait Progressing: Send + Sync {
    /// `done` of `total` (`None` while the total is still being counted), and a note.
    fn update(&self, done: u64, total: Option<u64>, note: &str);
    /// Clears the display.
    fn finish(&self);
}

/// What the commands receive: shared, so that background progress (the life-cycle engine's
/// observer) can write through it too.
pub type Term = Arc<dyn Terminal>;

/// `--color`: when output is coloured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (to anything but the empty string).
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether a stream gets colour.
    pub fn colors(self, is_terminal: bool, no_color: bool) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => is_terminal && !no_color,
        }
    }
}

/// `NO_COLOR` as no-color.org defines it: set and not empty.
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// A terminal for tests: records what is written (styles stripped) and answers every
/// question with `answer`.
#[derive(Debug, Default)]
pub struct Recording {
    pub answer: bool,
    /// Pretend both streams are terminals.
    pub terminal: bool,
    stdout: Mutex<String>,
    stderr: Mutex<String>,
    questions: Mutex<Vec<String>>,
}

impl Recording {
    pub fn answering(answer: bool) -> Recording {
        Recording {
            answer,
            terminal: true,
            ..Recording::default()
        }
    }

    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn questions(&self) -> Vec<String> {
        self.questions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Terminal for Recording {
    fn out(&self, text: &str) {
        let plain = anstream::adapter::strip_str(text).to_string();
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&plain);
    }

    fn err(&self, text: &str) {
        let plain = anstream::adapter::strip_str(text).to_string();
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&plain);
    }

    fn confirm(&self, question: &str) -> bool {
        self.questions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(question.to_string());
        self.terminal && self.answer
    }

    fn stdout_is_terminal(&self) -> bool {
        self.terminal
    }

    fn stderr_is_terminal(&self) -> bool {
        self.terminal
    }

    fn diagnostics_style(&self) -> Style {
        Style::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_only_a_terminal_without_no_color() {
        assert!(ColorWhen::Auto.colors(true, false));
        assert!(!ColorWhen::Auto.colors(true, true));
        assert!(!ColorWhen::Auto.colors(false, false));
        assert!(ColorWhen::Always.colors(false, true));
        assert!(!ColorWhen::Never.colors(true, false));
    }

    #[test]
    fn the_recording_strips_styles_and_refuses_without_a_terminal() {
        let red = anstyle::AnsiColor::Red.on_default();
        let term = Recording::default();
        term.out(&format!("{red}- gone{red:#}\n"));
        assert_eq!(term.stdout(), "- gone\n");
        assert!(!term.confirm("Go?"), "no terminal, no yes");
        assert_eq!(term.questions(), ["Go?"]);
        assert!(Recording::answering(true).confirm("Go?"));
    }
}
