//! A located YAML tree built from the low-level event parser, so that every key and value
//! keeps its file:line:column. serde-based loaders stop at the first problem and forget
//! where values came from; spa needs both. Aliases are expanded under a budget (an alias
//! bomb is an error, not an out-of-memory), duplicate keys are reported with both places,
//! and tabs in indentation get their own message.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};

use crate::diag::{Diagnostic, FileName, Span, number, one_based};
use crate::model::{Scalar, ScalarKind};

/// At most this many nodes after alias expansion: far above any real settings file
/// (10,000 accounts take about 300,000), far below what exhausts memory.
const MAX_NODES: usize = 5_000_000;
/// Settings nest a few levels deep; deeper input is an attack or an accident.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

#[derive(Debug, Clone)]
pub enum Value<'a> {
    /// Borrowed from the input when the scalar has no escapes: most of them.
    Scalar {
        text: Cow<'a, str>,
        style: Style,
    },
    Seq(Vec<Node<'a>>),
    Map(Vec<Entry<'a>>),
}

#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub value: Value<'a>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub key: Node<'a>,
    pub value: Node<'a>,
}

impl Node<'_> {
    /// An empty value (`key:` with nothing after it), `~` or `null`: "not set".
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, style: Style::Plain }
            if matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn kind(&self) -> &'static str {
        match &self.value {
            _ if self.is_null() => "an empty value",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar key or value.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text.as_ref()),
            _ => None,
        }
    }

    /// The value as JSON, typing plain scalars as YAML 1.2 core does (for checking a
    /// document against the JSON Schema, as editors do).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            _ if self.is_null() => serde_json::Value::Null,
            Value::Scalar { text, style } => {
                let scalar = Scalar {
                    text: text.to_string(),
                    kind: if *style == Style::Plain {
                        plain_kind(text)
                    } else {
                        ScalarKind::String
                    },
                };
                scalar.to_json()
            }
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|e| {
                    (
                        e.key.text().unwrap_or_default().to_string(),
                        e.value.to_json(),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }

    fn size(&self) -> usize {
        match &self.value {
            Value::Scalar { .. } => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|entry| entry.key.size() + entry.value.size())
                    .sum::<usize>()
            }
        }
    }
}

/// YAML 1.2 core schema typing of a plain scalar (what a YAML loader would make of it).
pub fn plain_kind(text: &str) -> ScalarKind {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
        ScalarKind::Boolean
    } else if (!unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()))
        || (text.starts_with("0x")
            && text.len() > 2
            && text[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        || (text.starts_with("0o")
            && text.len() > 2
            && text[2..].bytes().all(|b| (b'0'..=b'7').contains(&b)))
    {
        ScalarKind::Integer
    } else if is_float(unsigned) {
        ScalarKind::Float
    } else {
        ScalarKind::String
    }
}

fn is_float(text: &str) -> bool {
    if matches!(text, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(position) => (&text[..position], Some(&text[position + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(whole)
        && digits(fraction)
        && (!whole.is_empty() || !fraction.is_empty())
        && (mantissa.contains('.') || exponent.is_some());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

enum Frame<'a> {
    Seq {
        items: Vec<Node<'a>>,
        span: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry<'a>>,
        pending_key: Option<Node<'a>>,
        span: Span,
        anchor: usize,
    },
}

/// Parses one YAML document. Returns the root (None when the document is empty or broken)
/// and pushes every problem into `diagnostics`.
pub fn parse<'a>(
    file: FileName,
    text: &'a str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Node<'a>> {
    if let Some(tabs) = tab_indentation(file, text) {
        diagnostics.extend(tabs);
        return None;
    }
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        nodes: 0,
        diagnostics,
    };
    for event in Parser::new_from_str(text) {
        match event {
            Ok((event, span)) => {
                if let Err(diagnostic) = builder.on_event(event, span) {
                    builder.diagnostics.push(*diagnostic);
                    return None;
                }
            }
            Err(error) => {
                let marker = error.marker();
                let span = Span::point(file, number(marker.line()), one_based(marker.col()));
                builder.diagnostics.push(
                    Diagnostic::error(
                        "yaml-syntax",
                        span,
                        format!("invalid YAML: {}", error.info()),
                    )
                    .with_hint("check the indentation and the quoting around this place"),
                );
                return None;
            }
        }
    }
    builder.root
}

struct Builder<'f, 'a> {
    file: FileName,
    stack: Vec<Frame<'a>>,
    anchors: HashMap<usize, Node<'a>>,
    root: Option<Node<'a>>,
    documents: usize,
    nodes: usize,
    diagnostics: &'f mut Vec<Diagnostic>,
}

impl<'a> Builder<'_, 'a> {
    fn span(&self, span: YamlSpan) -> Span {
        Span::range(
            self.file,
            number(span.start.line()),
            one_based(span.start.col()),
            number(span.end.line()),
            one_based(span.end.col()),
        )
    }

    fn on_event(&mut self, event: Event<'a>, span: YamlSpan) -> Result<(), Box<Diagnostic>> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Box::new(
                        Diagnostic::error(
                            "yaml-multiple-documents",
                            self.span(span),
                            "settings must be a single YAML document",
                        )
                        .with_hint("remove the `---` separator and merge the documents"),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                let node = Node {
                    value: Value::Scalar { text, style },
                    span: self.span(span),
                };
                self.complete(node, anchor)?;
            }
            Event::SequenceStart(anchor, _tag) => {
                let span = self.span(span);
                self.push(Frame::Seq {
                    items: Vec::new(),
                    span,
                    anchor,
                })?;
            }
            Event::MappingStart(anchor, _tag) => {
                let span = self.span(span);
                self.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    span,
                    anchor,
                })?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (node, anchor) = match frame {
                        Frame::Seq {
                            items,
                            span,
                            anchor,
                        } => (
                            Node {
                                value: Value::Seq(items),
                                span,
                            },
                            anchor,
                        ),
                        Frame::Map {
                            entries,
                            span,
                            anchor,
                            ..
                        } => {
                            self.check_duplicates(&entries);
                            (
                                Node {
                                    value: Value::Map(entries),
                                    span,
                                },
                                anchor,
                            )
                        }
                    };
                    self.complete(node, anchor)?;
                }
            }
            Event::Alias(anchor) => {
                let span = self.span(span);
                let Some(target) = self.anchors.get(&anchor) else {
                    return Err(Box::new(Diagnostic::error(
                        "yaml-syntax",
                        span,
                        "unknown alias",
                    )));
                };
                let size = target.size();
                self.nodes += size;
                if self.nodes > MAX_NODES {
                    return Err(Box::new(Diagnostic::error(
                        "yaml-too-large",
                        span,
                        format!("expanding aliases makes more than {MAX_NODES} YAML nodes"),
                    )
                    .with_hint("this looks like an alias bomb; write the values out instead of nesting aliases")));
                }
                let node = Node {
                    value: target.value.clone(),
                    span,
                };
                self.complete(node, 0)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame<'a>) -> Result<(), Box<Diagnostic>> {
        if self.stack.len() >= MAX_DEPTH {
            let span = match &frame {
                Frame::Seq { span, .. } | Frame::Map { span, .. } => *span,
            };
            return Err(Box::new(Diagnostic::error(
                "yaml-too-deep",
                span,
                format!("YAML nested deeper than {MAX_DEPTH} levels"),
            )));
        }
        self.nodes += 1;
        self.stack.push(frame);
        Ok(())
    }

    fn complete(&mut self, node: Node<'a>, anchor: usize) -> Result<(), Box<Diagnostic>> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Box::new(Diagnostic::error(
                "yaml-too-large",
                node.span,
                format!("more than {MAX_NODES} YAML nodes"),
            )));
        }
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push(Entry { key, value: node }),
            },
        }
        Ok(())
    }

    fn check_duplicates(&mut self, entries: &[Entry<'a>]) {
        if entries.len() < 2 {
            return;
        }
        // Settings maps are small: a linear scan beats hashing for them; large maps (never
        // seen in real settings) are hashed to stay linear.
        if entries.len() > 16 {
            let mut seen: HashMap<&str, &Span> = HashMap::with_capacity(entries.len());
            for entry in entries {
                let Some(text) = entry.key.text() else {
                    continue;
                };
                if let Some(first) = seen.get(text) {
                    let first = *(*first);
                    self.duplicate(text, &entry.key.span, first);
                } else {
                    seen.insert(text, &entry.key.span);
                }
            }
            return;
        }
        for (index, entry) in entries.iter().enumerate() {
            let Some(text) = entry.key.text() else {
                continue;
            };
            let earlier = entries[..index].iter().find(|e| e.key.text() == Some(text));
            if let Some(first) = earlier.map(|e| e.key.span) {
                self.duplicate(text, &entry.key.span, first);
            }
        }
    }

    fn duplicate(&mut self, key: &str, span: &Span, first: Span) {
        self.diagnostics.push(
            Diagnostic::error("duplicate-key", *span, format!("duplicate key `{key}`"))
                .with_label(first, "first defined here")
                .with_hint("YAML keeps only one of them; remove or merge the duplicate"),
        );
    }
}

/// YAML forbids tabs in indentation; parsers say so obscurely. One clear error per line.
fn tab_indentation(file: FileName, text: &str) -> Option<Vec<Diagnostic>> {
    let mut found = Vec::new();
    let mut in_block_scalar = false;
    for (index, line) in text.lines().enumerate() {
        let indent: &str = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        // Tabs inside a literal block's content are text, not indentation; a rough guard
        // (the line is more indented than a key) keeps this from misfiring there.
        if in_block_scalar && indent.starts_with(' ') {
            continue;
        }
        in_block_scalar = line.trim_end().ends_with('|')
            || line.trim_end().ends_with('>')
            || line.trim_end().ends_with("|-")
            || line.trim_end().ends_with(">-");
        if let Some(position) = indent.find('\t') {
            let column = one_based(indent[..position].chars().count());
            found.push(
                Diagnostic::error(
                    "yaml-tab",
                    Span::range(
                        file,
                        one_based(index),
                        column,
                        one_based(index),
                        column.saturating_add(1),
                    ),
                    "tab character in indentation",
                )
                .with_hint("YAML indentation must use spaces; replace the tab with spaces"),
            );
        }
    }
    (!found.is_empty()).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> (Option<Node<'_>>, Vec<Diagnostic>) {
        let file = crate::diag::intern("t.yaml");
        let mut diagnostics = Vec::new();
        let node = parse(file, text, &mut diagnostics);
        (node, diagnostics)
    }

    #[test]
    fn plain_scalars_are_typed_like_yaml_core() {
        assert_eq!(plain_kind("80"), ScalarKind::Integer);
        assert_eq!(plain_kind("500.0"), ScalarKind::Float);
        assert_eq!(plain_kind("1e3"), ScalarKind::Float);
        assert_eq!(plain_kind("9M"), ScalarKind::String);
        assert_eq!(plain_kind("--dry-run"), ScalarKind::String);
        assert_eq!(plain_kind("true"), ScalarKind::Boolean);
        assert_eq!(plain_kind("yes"), ScalarKind::String);
        assert_eq!(plain_kind("."), ScalarKind::String);
    }

    #[test]
    fn keys_and_values_keep_their_place() {
        let (node, diagnostics) = parse_text("a:\n  b: 'x'\n  c: 500.0\n");
        assert!(diagnostics.is_empty());
        let Some(Node {
            value: Value::Map(entries),
            ..
        }) = node
        else {
            panic!("expected a map")
        };
        let Value::Map(inner) = &entries[0].value.value else {
            panic!("expected a map")
        };
        assert_eq!(inner[1].value.text(), Some("500.0"));
        assert_eq!(
            (inner[1].value.span.line, inner[1].value.span.column),
            (3, 6)
        );
        assert_eq!((inner[0].key.span.line, inner[0].key.span.column), (2, 3));
    }

    #[test]
    fn duplicate_keys_point_at_both_places() {
        let (_, diagnostics) = parse_text("a: 1\nb: 2\na: 3\n");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].span.line, 3);
        assert_eq!(diagnostics[0].labels[0].span.line, 1);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
            ));
        }
        let (node, diagnostics) = parse_text(&text);
        assert!(node.is_none());
        assert_eq!(diagnostics[0].code, "yaml-too-large");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000);
        let (node, diagnostics) = parse_text(&text);
        assert!(node.is_none());
        assert!(!diagnostics.is_empty());
    }

    #[test]
    fn tabs_are_located() {
        let (node, diagnostics) = parse_text("a:\n\tb: 1\n");
        assert!(node.is_none());
        assert_eq!(diagnostics[0].code, "yaml-tab");
        assert_eq!(
            (diagnostics[0].span.line, diagnostics[0].span.column),
            (2, 1)
        );
    }
}
