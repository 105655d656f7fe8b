//! Locations and diagnostics. Every problem spa finds in a settings repository becomes a
//! [`Diagnostic`] pointing at file:line:column, rendered with a source snippet and a hint.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

/// The name of a file of the settings repository, interned.
pub type FileName = &'static str;

/// Interns a file name. A settings repository names a handful of files, always the same
/// ones from commit to commit, so the set stays tiny; in exchange a [`Span`] is `Copy` and
/// costs nothing to keep on each of the ~300,000 values of a 10,000-account fleet.
pub fn intern(name: &str) -> FileName {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// A place in a file of the settings repository. Lines and columns start at 1; columns
/// count characters, not bytes, so they match what an editor shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub file: FileName,
    pub line: u32,
    pub column: u32,
    /// Where the underlined text ends (exclusive); equal to the start for a point.
    #[serde(skip)]
    pub end_line: u32,
    #[serde(skip)]
    pub end_column: u32,
}

impl Span {
    pub fn point(file: FileName, line: u32, column: u32) -> Span {
        Span {
            file,
            line,
            column,
            end_line: line,
            end_column: column,
        }
    }

    pub fn range(file: FileName, line: u32, column: u32, end_line: u32, end_column: u32) -> Span {
        Span {
            file,
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// A whole file, for problems that have no better place (a file that cannot be read).
    pub fn file(file: FileName) -> Span {
        Span::point(file, 1, 1)
    }

    /// A sub-range of a one-line span: `offset` and `len` count characters from the start.
    pub fn slice(&self, offset: usize, len: usize) -> Span {
        let column = self.column + offset as u32;
        Span::range(
            self.file,
            self.line,
            column,
            self.line,
            column + len.max(1) as u32,
        )
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A secondary place that explains the primary one ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    #[serde(flatten)]
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, kebab-case name of the kind of problem (documented in docs/).
    pub code: &'static str,
    pub message: String,
    #[serde(flatten)]
    pub span: Span,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            labels: Vec::new(),
            hint: None,
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }
}

/// The text of every file that was read, so that diagnostics can quote it.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    texts: BTreeMap<FileName, Source>,
}

#[derive(Debug, Clone)]
struct Source {
    text: Arc<str>,
    /// Built when a diagnostic first quotes the file: a valid repository never pays for it.
    lines: OnceLock<LineIndex>,
}

impl Sources {
    pub fn insert(&mut self, file: FileName, text: &str) {
        self.insert_shared(file, Arc::from(text));
    }

    pub fn insert_shared(&mut self, file: FileName, text: Arc<str>) {
        let source = Source {
            text,
            lines: OnceLock::new(),
        };
        self.texts.insert(file, source);
    }

    pub fn get(&self, file: &str) -> Option<&str> {
        self.texts.get(file).map(|source| &*source.text)
    }

    /// Line `line` (1-based) of `file`, without its line end.
    fn line(&self, file: &str, line: u32) -> Option<Line<'_>> {
        let source = self.texts.get(file)?;
        let index = source.lines.get_or_init(|| LineIndex::new(&source.text));
        index.line(&source.text, usize::try_from(line.checked_sub(1)?).ok()?)
    }
}

/// Where the lines of a text start, so that quoting a line is a lookup. Splitting the text
/// again for every diagnostic made rendering quadratic: minutes for an 8 MiB CSV file with
/// an error on every row.
#[derive(Debug, Clone)]
struct LineIndex {
    /// The byte offset of the start of each line.
    starts: Vec<usize>,
    /// `None` when the text is ASCII: then a character is a byte.
    chars: Option<CharIndex>,
}

/// Columns count characters; in a text that is not ASCII, this counts them per line.
#[derive(Debug, Clone)]
struct CharIndex {
    /// The character offset of the start of each line.
    line_starts: Vec<usize>,
    /// Characters in the whole text.
    total: usize,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        let chars = (!text.is_ascii()).then(|| {
            let mut line_starts = Vec::with_capacity(starts.len());
            line_starts.push(0);
            let mut total = 0;
            for c in text.chars() {
                total += 1;
                if c == '\n' {
                    line_starts.push(total);
                }
            }
            CharIndex { line_starts, total }
        });
        LineIndex { starts, chars }
    }

    /// Line `index` (0-based) of `text`, without its line end (`\n` or `\r\n`).
    fn line<'s>(&'s self, text: &'s str, index: usize) -> Option<Line<'s>> {
        let start = *self.starts.get(index)?;
        let next = self.starts.get(index + 1).copied();
        let raw = text.get(start..next.map_or(text.len(), |next| next - 1))?;
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        let Some(chars) = &self.chars else {
            return Some(Line {
                text: content,
                width: content.len(),
            });
        };
        let first = *chars.line_starts.get(index)?;
        // The character offset of the line end: its `\n`, or the end of the text.
        let end = next.map_or(chars.total, |_| {
            chars
                .line_starts
                .get(index + 1)
                .map_or(chars.total, |n| n - 1)
        });
        let width = end
            .saturating_sub(first)
            .saturating_sub(raw.len() - content.len());
        Some(Line {
            text: content,
            width,
        })
    }
}

/// One line of a source, as quoted under a diagnostic.
struct Line<'s> {
    text: &'s str,
    /// In characters.
    width: usize,
}

/// Colors for terminals; the caller decides (never when `NO_COLOR` is set or not a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Style::Plain => text.to_string(),
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

/// Renders diagnostics the way compilers do:
///
/// ```text
/// error[unknown-key]: unknown key `acount_tags` in an account item
///   --> settings.yaml:12:5
///    |
/// 12 |     acount_tags:
///    |     ^^^^^^^^^^^
///    = hint: did you mean `account_tags`?
/// ```
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, style: Style) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        render_one(&mut out, diagnostic, sources, style);
        out.push('\n');
    }
    out
}

fn render_one(out: &mut String, diagnostic: &Diagnostic, sources: &Sources, style: Style) {
    let (word, color) = match diagnostic.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let _ = writeln!(
        out,
        "{}{}",
        style.paint(color, &format!("{word}[{}]", diagnostic.code)),
        style.paint("1", &format!(": {}", diagnostic.message))
    );
    let mut places = vec![(&diagnostic.span, None)];
    places.extend(
        diagnostic
            .labels
            .iter()
            .map(|label| (&label.span, Some(label.message.as_str()))),
    );
    let gutter = places
        .iter()
        .map(|(span, _)| span.line.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(gutter);
    for (index, (span, message)) in places.iter().enumerate() {
        let arrow = if index == 0 { "-->" } else { ":::" };
        let _ = writeln!(out, "{pad}{} {span}", style.paint("1;34", arrow));
        let Some(line) = sources.line(span.file, span.line) else {
            if let Some(message) = message {
                let _ = writeln!(out, "{pad} = note: {message}");
            }
            continue;
        };
        let bar = style.paint("1;34", "|");
        let _ = writeln!(out, "{pad} {bar}");
        let shown = line.text.replace('\t', " ");
        let _ = writeln!(
            out,
            "{} {bar} {}",
            style.paint("1;34", &format!("{:>gutter$}", span.line)),
            shown
        );
        let width = u32::try_from(line.width).unwrap_or(u32::MAX);
        let start = span.column.saturating_sub(1).min(width);
        let end = if span.end_line == span.line && span.end_column > span.column {
            (span.end_column - 1).min(width.max(start + 1))
        } else if span.end_line > span.line {
            width.max(start + 1)
        } else {
            start + 1
        };
        let marks = "^".repeat((end.saturating_sub(start)).max(1) as usize);
        let tail = message.map(|m| format!(" {m}")).unwrap_or_default();
        let mark_color = if index == 0 { color } else { "1;34" };
        let _ = writeln!(
            out,
            "{pad} {bar} {}{}",
            " ".repeat(start as usize),
            style.paint(mark_color, &format!("{marks}{tail}"))
        );
    }
    if let Some(hint) = &diagnostic.hint {
        let _ = writeln!(out, "{pad} = {}: {hint}", style.paint("1;36", "hint"));
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|candidate| {
            (
                levenshtein(&word_lower, &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(3) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["account_tags", "unset_tags", "preparation", "purge", "note"];
        assert_eq!(did_you_mean("acount_tags", &keys), Some("account_tags"));
        assert_eq!(did_you_mean("Purge", &keys), Some("purge"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }

    proptest::proptest! {
        /// The index finds the same lines and widths as splitting the text would, across
        /// line ends and multi-byte characters.
        #[test]
        fn line_index_agrees_with_splitting(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "é", "日本", "😀", "\t", "\n", "\r\n", "\r",
                    "a long run of plain text, more than sixty-four characters in a row, no line end",
                ]),
                0..80,
            )
        ) {
            let text: String = pieces.concat();
            let index = LineIndex::new(&text);
            let naive: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
            proptest::prop_assert!(index.line(&text, naive.len()).is_none());
            for (number, expected) in naive.iter().enumerate() {
                let line = index.line(&text, number).unwrap();
                proptest::prop_assert_eq!(line.text, *expected);
                proptest::prop_assert_eq!(line.width, expected.chars().count());
            }
        }
    }

    /// One diagnostic on each of 50,000 lines. Quoting a line used to split the whole file
    /// again, which took minutes here; with a line index it takes a fraction of a second
    /// even in a debug build. The bound is deliberately loose: it only catches the quadratic.
    #[test]
    fn rendering_is_linear_in_the_number_of_diagnostics() {
        let file = intern("linear.csv");
        let lines = 50_000u32;
        let mut sources = Sources::default();
        sources.insert(file, &"1.23457E+11,row\n".repeat(lines as usize));
        let diagnostics: Vec<Diagnostic> = (1..=lines)
            .map(|line| {
                Diagnostic::error(
                    "csv-invalid-account",
                    Span::range(file, line, 1, line, 12),
                    "bad",
                )
            })
            .collect();
        let start = std::time::Instant::now();
        let text = render(&diagnostics, &sources, Style::Plain);
        let elapsed = start.elapsed();
        assert!(
            elapsed < std::time::Duration::from_secs(10),
            "rendering took {elapsed:?}"
        );
        assert!(
            text.ends_with("50000 | 1.23457E+11,row\n      | ^^^^^^^^^^^\n\n"),
            "{}",
            &text[text.len() - 200..]
        );
    }

    #[test]
    fn renders_snippet_with_underline_and_hint() {
        let file = intern("settings.yaml");
        let mut sources = Sources::default();
        sources.insert(file, "a: 1\n  acount_tags: x\n");
        let diagnostic = Diagnostic::error(
            "unknown-key",
            Span::range(file, 2, 3, 2, 14),
            "unknown key `acount_tags`",
        )
        .with_hint("did you mean `account_tags`?");
        let text = render(&[diagnostic], &sources, Style::Plain);
        assert_eq!(
            text,
            "error[unknown-key]: unknown key `acount_tags`\n --> settings.yaml:2:3\n  |\n2 |   acount_tags: x\n  |   ^^^^^^^^^^^\n  = hint: did you mean `account_tags`?\n\n"
        );
    }
}
