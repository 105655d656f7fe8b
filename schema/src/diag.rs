//! Locations and diagnostics. Every problem spa finds in a settings repository becomes a
//! [`Diagnostic`] pointing at file:line:column, rendered with a source snippet and a hint.

use std::borrow::Cow;
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

/// A line or column number counted in the input, as a `u32`: saturating, so that neither a
/// panic nor a wrapped number can come of a huge input.
pub(crate) fn number(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The 1-based number of a 0-based position (see [`number`]).
pub(crate) fn one_based(position: usize) -> u32 {
    number(position).saturating_add(1)
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
        // Saturating: offsets come from the input, and a span must never panic.
        let column = self.column.saturating_add(number(offset));
        Span::range(
            self.file,
            self.line,
            column,
            self.line,
            column.saturating_add(number(len.max(1))),
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

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
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

    /// Cuts overlong texts in the middle (see [`clip`]), so that one diagnostic stays small
    /// in every output, JSON included.
    pub fn clip_texts(&mut self) {
        fn cut(text: &mut String) {
            if let Cow::Owned(clipped) = clip(text) {
                *text = clipped;
            }
        }
        cut(&mut self.message);
        if let Some(hint) = &mut self.hint {
            cut(hint);
        }
        for label in &mut self.labels {
            cut(&mut label.message);
        }
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

/// The work of quoting lines and of suggesting names, counted in test builds by the thread
/// that does it: tests bound the complexity with counts instead of a clock.
#[cfg(test)]
#[derive(Clone, Copy)]
struct Work {
    /// Line indexes built.
    indexes: usize,
    /// Characters walked from a checkpoint to find a column.
    walked: usize,
    /// Cells of edit-distance tables.
    cells: usize,
}

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<Work> = const {
        std::cell::Cell::new(Work { indexes: 0, walked: 0, cells: 0 })
    };
}

#[cfg(test)]
fn tally(add: impl FnOnce(&mut Work)) {
    WORK.with(|work| {
        let mut counted = work.get();
        add(&mut counted);
        work.set(counted);
    });
}

/// Characters between two checkpoints of a [`CharIndex`]: finding a column walks at most
/// this many characters, however long its line.
const CHECKPOINT: usize = 64;

/// Where the lines of a text start, so that quoting a line is a lookup. Splitting the text
/// again for every diagnostic made rendering quadratic: minutes for an 8 MiB CSV file with
/// an error on every row.
#[derive(Debug, Clone)]
struct LineIndex {
    /// The byte offset of the start of each line.
    starts: Vec<usize>,
    /// `None` when the text is ASCII: then a column is a byte offset.
    chars: Option<CharIndex>,
}

/// Columns count characters; in a text that is not ASCII, this maps them to bytes.
#[derive(Debug, Clone)]
struct CharIndex {
    /// The character offset of the start of each line.
    line_starts: Vec<usize>,
    /// The byte offset of every `CHECKPOINT`-th character.
    checkpoints: Vec<usize>,
    /// Characters in the whole text.
    total: usize,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        #[cfg(test)]
        tally(|work| work.indexes += 1);
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        let chars = (!text.is_ascii()).then(|| {
            let mut line_starts = Vec::with_capacity(starts.len());
            line_starts.push(0);
            let mut checkpoints = Vec::with_capacity(text.len() / CHECKPOINT + 1);
            let mut total = 0;
            for (byte, c) in text.char_indices() {
                if total % CHECKPOINT == 0 {
                    checkpoints.push(byte);
                }
                total += 1;
                if c == '\n' {
                    line_starts.push(total);
                }
            }
            CharIndex {
                line_starts,
                checkpoints,
                total,
            }
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
                chars: None,
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
            chars: Some(LineChars {
                index: chars,
                whole: text,
                first,
                start,
            }),
        })
    }
}

/// One line of a source, as quoted under a diagnostic.
struct Line<'s> {
    text: &'s str,
    /// In characters.
    width: usize,
    /// `None` for ASCII.
    chars: Option<LineChars<'s>>,
}

struct LineChars<'s> {
    index: &'s CharIndex,
    whole: &'s str,
    /// The character and byte offsets of the line start in `whole`.
    first: usize,
    start: usize,
}

impl<'s> Line<'s> {
    /// The byte offset in the line of the character `column` (0-based); the line length
    /// from `width` on.
    fn byte(&self, column: usize) -> usize {
        if column >= self.width {
            return self.text.len();
        }
        let Some(chars) = &self.chars else {
            return column;
        };
        let wanted = chars.first + column;
        let checkpoint = wanted / CHECKPOINT;
        let Some(&from) = chars.index.checkpoints.get(checkpoint) else {
            return self.text.len();
        };
        let walk = wanted - checkpoint * CHECKPOINT;
        #[cfg(test)]
        tally(|work| work.walked += walk);
        chars
            .whole
            .get(from..)
            .and_then(|rest| rest.char_indices().nth(walk))
            .map_or(self.text.len(), |(at, _)| {
                (from + at).saturating_sub(chars.start).min(self.text.len())
            })
    }

    /// The characters `from..to` of the line.
    fn slice(&self, from: usize, to: usize) -> &'s str {
        let (from, to) = (self.byte(from), self.byte(to));
        self.text.get(from..to.max(from)).unwrap_or_default()
    }
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
///
/// Every diagnostic: prefer [`render_limited`] for what people read.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, style: Style) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        render_one(&mut out, diagnostic, sources, style);
        out.push('\n');
    }
    out
}

/// How many diagnostics are shown in full by default; the rest are counted. Compilers stop
/// early too: past the first screens, more of the same helps nobody, and an 8 MiB CSV file
/// with an error on every row would print 50 MB.
pub const DEFAULT_LIMIT: usize = 50;

/// Renders the first `limit` diagnostics like [`render`], then counts the others per code,
/// with the totals:
///
/// ```text
/// ... and 39,950 more errors not shown:
///   39,950 × error[csv-invalid-account]
/// 40,000 errors and 0 warnings in total
/// ```
///
/// Nothing is added when every diagnostic is shown.
pub fn render_limited(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    style: Style,
    limit: usize,
) -> String {
    let (shown, rest) = diagnostics.split_at(limit.min(diagnostics.len()));
    let mut out = render(shown, sources, style);
    if rest.is_empty() {
        return out;
    }
    let rest_errors = errors(rest);
    let mut omitted = Vec::new();
    if rest_errors > 0 {
        omitted.push(plural(rest_errors, "more error"));
    }
    if rest.len() > rest_errors {
        omitted.push(plural(rest.len() - rest_errors, "more warning"));
    }
    let heading = format!("... and {} not shown:", omitted.join(" and "));
    let _ = writeln!(out, "{}", style.paint("1", &heading));
    let counts = count_codes(rest);
    let digits = counts
        .iter()
        .map(|count| thousands(count.count).len())
        .max()
        .unwrap_or(1);
    for count in &counts {
        let _ = writeln!(
            out,
            "  {:>digits$} × {}[{}]",
            thousands(count.count),
            count.severity.word(),
            count.code
        );
    }
    let all_errors = errors(diagnostics);
    let _ = writeln!(
        out,
        "{} and {} in total",
        plural(all_errors, "error"),
        plural(diagnostics.len() - all_errors, "warning")
    );
    out
}

/// How many diagnostics of one code and severity there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeCount {
    pub severity: Severity,
    pub code: &'static str,
    pub count: usize,
}

/// Diagnostics in a bounded size, for a JSON report or a status page: the totals, a count per
/// code (codes are a fixed set), and the first diagnostics in full (texts cut to
/// [`MAX_TEXT`] characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    /// Every code that occurs, the most frequent first.
    pub counts: Vec<CodeCount>,
    /// The first diagnostics, in order.
    pub diagnostics: Vec<Diagnostic>,
    /// How many diagnostics are counted but not listed in `diagnostics`.
    pub omitted: usize,
}

impl Summary {
    /// Counts every diagnostic and keeps the first `limit` ([`DEFAULT_LIMIT`] is a good one).
    pub fn new(diagnostics: &[Diagnostic], limit: usize) -> Summary {
        let shown = limit.min(diagnostics.len());
        let errors = errors(diagnostics);
        Summary {
            errors,
            warnings: diagnostics.len() - errors,
            counts: count_codes(diagnostics),
            diagnostics: diagnostics[..shown]
                .iter()
                .map(|diagnostic| {
                    let mut diagnostic = diagnostic.clone();
                    diagnostic.clip_texts();
                    diagnostic
                })
                .collect(),
            omitted: diagnostics.len() - shown,
        }
    }
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

/// Counts per code and severity, the most frequent first (then errors, then by code).
fn count_codes(diagnostics: &[Diagnostic]) -> Vec<CodeCount> {
    let mut counts: BTreeMap<(Severity, &'static str), usize> = BTreeMap::new();
    for diagnostic in diagnostics {
        *counts
            .entry((diagnostic.severity, diagnostic.code))
            .or_default() += 1;
    }
    let mut counts: Vec<CodeCount> = counts
        .into_iter()
        .map(|((severity, code), count)| CodeCount {
            severity,
            code,
            count,
        })
        .collect();
    // Stable: equal counts keep the (severity, code) order of the map.
    counts.sort_by_key(|count| std::cmp::Reverse(count.count));
    counts
}

/// `1 error`, `2 errors`, `39,950 more errors`.
fn plural(count: usize, what: &str) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("{} {what}{s}", thousands(count))
}

/// `39950` as `39,950`.
/// `1234567` as `1,234,567`.
pub(crate) fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn render_one(out: &mut String, diagnostic: &Diagnostic, sources: &Sources, style: Style) {
    let word = diagnostic.severity.word();
    let color = match diagnostic.severity {
        Severity::Error => "1;31",
        Severity::Warning => "1;33",
    };
    let _ = writeln!(
        out,
        "{}{}",
        style.paint(color, &format!("{word}[{}]", diagnostic.code)),
        style.paint("1", &format!(": {}", clip(&diagnostic.message)))
    );
    let mut places = vec![(&diagnostic.span, None)];
    places.extend(
        diagnostic
            .labels
            .iter()
            .map(|label| (&label.span, Some(clip(&label.message)))),
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
        // Columns count characters from 1; here everything counts characters from 0.
        let width = line.width;
        let start = usize::try_from(span.column.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(width);
        let end = if span.end_line == span.line && span.end_column > span.column {
            usize::try_from(span.end_column - 1)
                .unwrap_or(usize::MAX)
                .min(width.max(start + 1))
        } else if span.end_line > span.line {
            width.max(start + 1)
        } else {
            start + 1
        };
        let (from, to) = window(width, start, end);
        let mut shown = String::new();
        if from > 0 {
            shown.push('…');
        }
        // A tab shows as one space, so that the carets stay under their characters.
        shown.push_str(&line.slice(from, to).replace('\t', " "));
        if to < width {
            shown.push('…');
        }
        let _ = writeln!(
            out,
            "{} {bar} {shown}",
            style.paint("1;34", &format!("{:>gutter$}", span.line)),
        );
        let indent = start - from + usize::from(from > 0);
        let marked = if to < width { end.min(to) } else { end };
        let marks = "^".repeat(marked.saturating_sub(start).max(1));
        let tail = message
            .as_ref()
            .map(|m| format!(" {m}"))
            .unwrap_or_default();
        let mark_color = if index == 0 { color } else { "1;34" };
        let _ = writeln!(
            out,
            "{pad} {bar} {}{}",
            " ".repeat(indent),
            style.paint(mark_color, &format!("{marks}{tail}"))
        );
    }
    if let Some(hint) = &diagnostic.hint {
        let _ = writeln!(
            out,
            "{pad} = {}: {}",
            style.paint("1;36", "hint"),
            clip(hint)
        );
    }
}

/// At most this many characters of a source line are quoted, as compilers do: one error on
/// a 7 MiB line must not print 7 MiB.
const WINDOW: usize = 120;
/// Context kept before a span too long for the window.
const LEAD: usize = 20;

/// The characters `from..to` of a line of `width` characters to quote for the span
/// `start..end`: all of a short line, else a window centred on the span or, for a long span,
/// starting a little before it.
fn window(width: usize, start: usize, end: usize) -> (usize, usize) {
    if width <= WINDOW {
        return (0, width);
    }
    let length = end.saturating_sub(start);
    let before = if length + 2 * LEAD <= WINDOW {
        (WINDOW - length) / 2
    } else {
        LEAD
    };
    let from = start.saturating_sub(before).min(width - WINDOW);
    (from, from + WINDOW)
}

/// Messages and hints longer than this (in characters) are cut in the middle: they may quote
/// a value of the input, and a value can be megabytes long.
pub const MAX_TEXT: usize = 400;

/// `text`, cut in the middle to at most [`MAX_TEXT`] characters, keeping its start and end
/// (a message usually ends with what is wrong: "`…` is not an AWS account id").
pub fn clip(text: &str) -> Cow<'_, str> {
    const TAIL: usize = 100;
    if text.len() <= MAX_TEXT || text.chars().count() <= MAX_TEXT {
        return Cow::Borrowed(text);
    }
    let head_end = text
        .char_indices()
        .nth(MAX_TEXT - TAIL - 1)
        .map_or(text.len(), |(at, _)| at);
    let tail_start = text
        .char_indices()
        .rev()
        .nth(TAIL - 1)
        .map_or(head_end, |(at, _)| at)
        .max(head_end);
    let mut clipped = String::with_capacity(MAX_TEXT * 4);
    clipped.push_str(&text[..head_end]);
    clipped.push('…');
    clipped.push_str(&text[tail_start..]);
    Cow::Owned(clipped)
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let close_enough = |candidate: &str| (candidate.chars().count().max(3) / 3).max(1);
    let length = word.chars().count();
    candidates
        .iter()
        // The distance is at least the difference of lengths: skip the comparison, whose
        // cost is the product of the lengths (seconds for a key of megabytes).
        .filter(|candidate| length.abs_diff(candidate.chars().count()) <= close_enough(candidate))
        .map(|candidate| {
            (
                levenshtein(&word.to_ascii_lowercase(), &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= close_enough(candidate))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        #[cfg(test)]
        tally(|work| work.cells += b.len());
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

    /// What this thread has done so far.
    fn work() -> Work {
        WORK.with(std::cell::Cell::get)
    }

    /// An unknown key of 8 MiB: comparing it with each known key cost its length times
    /// theirs, seconds for one key. A word much longer than a candidate cannot be close, so
    /// no edit distance is computed for it at all, whatever its length.
    #[test]
    fn did_you_mean_skips_words_of_another_length() {
        let keys = [
            "with_csv_files",
            "with_end_user_documents",
            "with_tag_prefix",
        ];
        let before = work().cells;
        assert_eq!(did_you_mean(&"k".repeat(64 << 10), &keys), None);
        assert_eq!(work().cells - before, 0, "a distance was computed");
        // A word of 14 characters is compared with the keys of 14 and 15, not that of 23.
        let before = work().cells;
        assert_eq!(
            did_you_mean("with_tag_prefx", &keys),
            Some("with_tag_prefix")
        );
        assert_eq!(work().cells - before, 14 * 14 + 14 * 15);
    }

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["account_tags", "unset_tags", "preparation", "purge", "note"];
        assert_eq!(did_you_mean("acount_tags", &keys), Some("account_tags"));
        assert_eq!(did_you_mean("Purge", &keys), Some("purge"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }

    proptest::proptest! {
        /// The index finds the same lines, widths and columns as splitting the text would,
        /// across line ends, multi-byte characters and the checkpoints of long lines.
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
                for column in 0..=line.width + 1 {
                    let byte = expected.char_indices().nth(column).map_or(expected.len(), |(at, _)| at);
                    proptest::prop_assert_eq!(line.byte(column), byte);
                }
            }
        }
    }

    /// One diagnostic on each line. Quoting a line used to split the whole file again:
    /// minutes for 50,000 lines. Now the file is indexed once, and a diagnostic walks at most
    /// a checkpoint's worth of characters to find its columns, even on lines that are not
    /// ASCII, however many lines there are (the time is in `benches/diagnostics.rs`).
    #[test]
    fn rendering_indexes_each_file_once() {
        let lines = 5_000u32;
        for (name, row) in [
            ("ascii.csv", "1.23457E+11,row"),
            ("utf8.csv", "1.23457E+11,ré"),
        ] {
            let file = intern(name);
            let mut sources = Sources::default();
            sources.insert(file, &format!("{row}\n").repeat(lines as usize));
            let diagnostics: Vec<Diagnostic> = (1..=lines)
                .map(|line| {
                    Diagnostic::error(
                        "csv-invalid-account",
                        Span::range(file, line, 1, line, 12),
                        "bad",
                    )
                })
                .collect();
            let before = work();
            let text = render(&diagnostics, &sources, Style::Plain);
            let after = work();
            assert_eq!(after.indexes - before.indexes, 1, "{name}");
            // Two column lookups (the start and end of the quoted window) per diagnostic.
            let walked = after.walked - before.walked;
            assert!(
                walked <= 2 * CHECKPOINT * lines as usize,
                "{name}: {walked}"
            );
            assert!(
                text.ends_with(&format!("5000 | {row}\n     | ^^^^^^^^^^^\n\n")),
                "{}",
                &text[text.len() - 200..]
            );
            // Quoting them again reuses the index.
            render(&diagnostics[..1], &sources, Style::Plain);
            assert_eq!(work().indexes, after.indexes, "{name}");
        }
    }

    /// The quoted line and the carets under it, for one span on the line `line` (line 2).
    fn snippet(line: &str, column: u32, end_line: u32, end_column: u32) -> (String, String) {
        let file = intern("snippet.csv");
        let mut sources = Sources::default();
        sources.insert(file, &format!("header\r\n{line}\r\nlast\r\n"));
        let span = Span::range(file, 2, column, end_line, end_column);
        let text = render(&[Diagnostic::error("x", span, "m")], &sources, Style::Plain);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], format!(" --> snippet.csv:2:{column}"), "{text}");
        let strip = |l: &str| {
            l.strip_prefix("2 | ")
                .or(l.strip_prefix("  | "))
                .unwrap()
                .to_string()
        };
        (strip(lines[3]), strip(lines[4]))
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        // The window keeps the carets under the span, whatever the characters before it.
        let line = format!("{}BAD{}", "é\t".repeat(500), "日".repeat(1000));
        assert_eq!(
            snippet(&line, 1001, 2, 1004),
            (
                format!("…{}BAD{}…", "é ".repeat(29), "日".repeat(59)),
                format!("{}^^^", " ".repeat(59))
            )
        );
        // At the start and at the end of the line, only the other side is cut.
        let line = format!("BAD{}", "x".repeat(200));
        assert_eq!(
            snippet(&line, 1, 2, 4),
            (format!("BAD{}…", "x".repeat(117)), "^^^".to_string())
        );
        let line = format!("{}BAD", "x".repeat(200));
        assert_eq!(
            snippet(&line, 201, 2, 204),
            (
                format!("…{}BAD", "x".repeat(117)),
                format!("{}^^^", " ".repeat(118))
            )
        );
        // Past the end of the line (a missing field).
        let line = "x".repeat(200);
        assert_eq!(
            snippet(&line, 201, 2, 201),
            (
                format!("…{}", "x".repeat(120)),
                format!("{}^", " ".repeat(121))
            )
        );
        // A span longer than the window: a little context before, carets up to the cut.
        let line = format!("{}{}", "x".repeat(50), "y".repeat(500));
        let cut = (
            format!("…{}{}…", "x".repeat(20), "y".repeat(100)),
            format!("{}{}", " ".repeat(21), "^".repeat(100)),
        );
        assert_eq!(snippet(&line, 51, 2, 551), cut);
        assert_eq!(
            snippet(&line, 51, 3, 2),
            cut,
            "a span that goes on to the next line"
        );
        // Lines up to the window's width are shown whole, as before.
        let line = "z".repeat(120);
        assert_eq!(
            snippet(&line, 120, 2, 121),
            (line.clone(), format!("{}^", " ".repeat(119)))
        );
    }

    #[test]
    fn spans_saturate_instead_of_overflowing() {
        let file = intern("far.yaml");
        let span = Span::point(file, 1, u32::MAX - 1).slice(usize::MAX, usize::MAX);
        assert_eq!((span.column, span.end_column), (u32::MAX, u32::MAX));
        let mut sources = Sources::default();
        sources.insert(file, "a: b\n");
        let far = Span::range(file, u32::MAX, u32::MAX, u32::MAX, u32::MAX);
        let wide = Span::range(file, 1, u32::MAX, 1, u32::MAX);
        for span in [far, wide, Span::range(file, 1, 0, 0, 0)] {
            render(&[Diagnostic::error("x", span, "m")], &sources, Style::Plain);
        }
    }

    #[test]
    fn one_diagnostic_prints_a_bounded_text() {
        // One error on a 7 MiB line used to print the line and 7 million carets.
        let file = intern("huge.csv");
        let mut sources = Sources::default();
        sources.insert(file, &format!("Account\n{}\n", "9".repeat(7 << 20)));
        let diagnostic = Diagnostic::error(
            "csv-invalid-account",
            Span::range(file, 2, 1, 2, (7 << 20) + 1),
            format!("`{}` is not an AWS account id", "9".repeat(7 << 20)),
        )
        .with_hint(format!("quote it: '{}'", "9".repeat(7 << 20)));
        let text = render(&[diagnostic], &sources, Style::Plain);
        assert!(text.len() < 2_000, "{} bytes", text.len());
        assert_eq!(clip(&"é日".repeat(500)).chars().count(), MAX_TEXT);
        assert!(text.contains("` is not an AWS account id\n"), "{text}");
        assert!(text.contains("huge.csv:2:1\n"), "{text}");
    }

    fn four_diagnostics() -> (Vec<Diagnostic>, Sources) {
        let file = intern("bounded.csv");
        let mut sources = Sources::default();
        sources.insert(file, "a\nb\nc\nd\n");
        let mut diagnostics: Vec<Diagnostic> = (1..=3)
            .map(|line| Diagnostic::error("csv-invalid-account", Span::point(file, line, 1), "bad"))
            .collect();
        diagnostics.push(Diagnostic::warning(
            "some-warning",
            Span::point(file, 4, 1),
            "meh",
        ));
        (diagnostics, sources)
    }

    #[test]
    fn bounded_rendering_counts_what_it_does_not_show() {
        let (diagnostics, sources) = four_diagnostics();
        assert_eq!(
            render_limited(&diagnostics, &sources, Style::Plain, 1),
            "error[csv-invalid-account]: bad\n --> bounded.csv:1:1\n  |\n1 | a\n  | ^\n\n\
             ... and 2 more errors and 1 more warning not shown:\n\
             \x20 2 × error[csv-invalid-account]\n\
             \x20 1 × warning[some-warning]\n\
             3 errors and 1 warning in total\n"
        );
        assert!(
            render_limited(&diagnostics, &sources, Style::Plain, 0)
                .starts_with("... and 3 more errors and 1 more warning not shown:\n")
        );
        // Up to the limit, everything is shown and nothing is added.
        let all = render(&diagnostics, &sources, Style::Plain);
        assert_eq!(render_limited(&diagnostics, &sources, Style::Plain, 4), all);
        assert_eq!(
            render_limited(&diagnostics, &sources, Style::Plain, usize::MAX),
            all
        );
    }

    #[test]
    fn large_counts_are_grouped_by_thousands() {
        let file = intern("many.csv");
        let diagnostics: Vec<Diagnostic> = (0..39_951)
            .map(|_| Diagnostic::error("csv-invalid-account", Span::point(file, 1, 1), "bad"))
            .collect();
        let text = render_limited(&diagnostics, &Sources::default(), Style::Plain, 1);
        assert!(
            text.ends_with(
                "... and 39,950 more errors not shown:\n\
                 \x20 39,950 × error[csv-invalid-account]\n\
                 39,951 errors and 0 warnings in total\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_summary_is_bounded_and_serialisable() {
        let (mut diagnostics, _) = four_diagnostics();
        diagnostics[0].message = "x".repeat(10_000);
        let summary = Summary::new(&diagnostics, 1);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["errors"], 3);
        assert_eq!(json["warnings"], 1);
        assert_eq!(json["omitted"], 3);
        assert_eq!(
            json["counts"],
            serde_json::json!([
                {"severity": "error", "code": "csv-invalid-account", "count": 3},
                {"severity": "warning", "code": "some-warning", "count": 1},
            ])
        );
        assert_eq!(json["diagnostics"].as_array().unwrap().len(), 1);
        assert_eq!(json["diagnostics"][0]["line"], 1);
        assert_eq!(
            json["diagnostics"][0]["message"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_TEXT
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
