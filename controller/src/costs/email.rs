//! The monthly cost e-mail as a raw MIME message for SES: the report's Markdown as text and
//! as HTML, and the report files attached while the message stays under SES's size limit
//! (the files that do not fit are listed with where they are kept).

use std::borrow::Cow;

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// A report file to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the recipient sees.
    pub name: String,
    /// Its MIME type, e.g. `text/csv`.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Where the same file is kept (e.g. `s3://bucket/key`): shown instead when it cannot be
    /// attached.
    pub location: String,
}

/// The e-mail to compose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `"Display Name" <address>`, `Display Name <address>` or a bare address.
    pub from: String,
    /// Recipients, in the same forms as `from`.
    pub to: Vec<String>,
    pub subject: String,
    /// The body: sent as is as text, and rendered as HTML.
    pub markdown: String,
    pub attachments: Vec<Attachment>,
}

/// A composed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The MIME message, as SES sends it raw.
    pub raw: Vec<u8>,
    /// The names of the files attached.
    pub attached: Vec<String>,
    /// The names of the files too large to attach, listed with their location instead.
    pub linked: Vec<String>,
}

const LINKED_HEADING: &str =
    "Files too large to attach (open them with credentials for the reports bucket):";

/// Composes `email` into a message of fewer than `limit` bytes. Attachments are taken in
/// order; one that does not fit is listed with its location instead, and the next ones are
/// still tried (a small file may fit after a large one did not). An error when the addresses
/// are unusable or when even the message without any attachment reaches `limit`.
pub fn compose(email: &Email, limit: usize) -> Result<Composed, String> {
    let from = mailbox(&email.from).map_err(|e| format!("from: {e}"))?;
    if email.to.is_empty() {
        return Err("no recipients".to_string());
    }
    let to = email
        .to
        .iter()
        .map(|t| mailbox(t).map_err(|e| format!("to: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let parts = Parts {
        from,
        to,
        subject: one_line(&email.subject),
        html: render(&email.markdown),
        email,
    };

    let mut attached = vec![false; email.attachments.len()];
    let mut raw = parts.build(&attached);
    if raw.len() >= limit {
        return Err(format!(
            "the message is {} bytes without attachments, over the limit of {limit}",
            raw.len()
        ));
    }
    // The base64 of the files attached so far: a part of the message, so a lower bound of it.
    let mut encoded: usize = 0;
    for (i, attachment) in email.attachments.iter().enumerate() {
        let with = encoded.saturating_add(base64_len(attachment.bytes.len()));
        // Measuring means building: a file that cannot fit is skipped without building a
        // message that size.
        if with >= limit {
            continue;
        }
        attached[i] = true;
        let candidate = parts.build(&attached);
        if candidate.len() < limit {
            raw = candidate;
            encoded = with;
        } else {
            attached[i] = false;
        }
    }
    // The last message kept is the final one: it already lists every file not attached.
    let (attached, linked) = email
        .attachments
        .iter()
        .zip(&attached)
        .partition::<Vec<_>, _>(|(_, yes)| **yes);
    Ok(Composed {
        raw,
        attached: attached.into_iter().map(|(a, _)| a.name.clone()).collect(),
        linked: linked.into_iter().map(|(a, _)| a.name.clone()).collect(),
    })
}

/// What every variant of the message shares, worked out once.
struct Parts<'a> {
    from: (Option<String>, String),
    to: Vec<(Option<String>, String)>,
    subject: String,
    /// The Markdown rendered, without the page around it.
    html: String,
    email: &'a Email,
}

impl Parts<'_> {
    /// The message with the attachments flagged in `attached`, and the others listed.
    fn build(&self, attached: &[bool]) -> Vec<u8> {
        let linked: Vec<&Attachment> = self
            .email
            .attachments
            .iter()
            .zip(attached)
            .filter(|(_, yes)| !**yes)
            .map(|(a, _)| a)
            .collect();

        let mut text = self.email.markdown.clone();
        let mut html = self.html.clone();
        if !linked.is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push('\n');
            text.push_str(LINKED_HEADING);
            text.push_str("\n\n");
            html.push_str("<p>");
            html.push_str(&escape(LINKED_HEADING));
            html.push_str("</p>\n<ul>\n");
            for a in &linked {
                let name = one_line(&a.name);
                let location = one_line(&a.location);
                text.push_str(&format!("{name}: {location}\n"));
                html.push_str(&format!(
                    "<li>{}: {}</li>\n",
                    escape(&name),
                    escape(&location)
                ));
            }
            html.push_str("</ul>\n");
        }
        let page = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n{html}</body></html>\n",
            escape(&self.subject)
        );

        let alternative = MimePart::new(
            "multipart/alternative",
            vec![
                MimePart::new("text/plain", text),
                MimePart::new("text/html", page),
            ],
        );
        let files: Vec<MimePart<'_>> = self
            .email
            .attachments
            .iter()
            .zip(attached)
            .filter(|(_, yes)| **yes)
            .map(|(a, _)| file_part(a))
            .collect();
        let body = if files.is_empty() {
            alternative
        } else {
            let mut parts = vec![alternative];
            parts.extend(files);
            MimePart::new("multipart/mixed", parts)
        };

        fn address((name, address): &(Option<String>, String)) -> Address<'_> {
            Address::new_address(name.as_deref(), address.as_str())
        }
        MessageBuilder::new()
            .from(address(&self.from))
            .to(Address::new_list(self.to.iter().map(address).collect()))
            .subject(self.subject.as_str())
            .date(Date::now())
            .body(body)
            .write_to_vec()
            // Writing to a Vec cannot fail.
            .unwrap_or_default()
    }
}

/// An attachment's MIME part, always base64: mail-builder would send a `text/*` file as 7-bit
/// text with its line ends rewritten to CRLF, and a report file must arrive byte for byte.
/// The type goes in a raw header, which mail-builder does not look into to pick an encoding.
fn file_part(a: &Attachment) -> MimePart<'_> {
    MimePart::raw(BodyPart::Binary(Cow::Borrowed(a.bytes.as_slice())))
        .header("Content-Type", Raw::new(content_type(&a.content_type)))
        .attachment(one_line(&a.name))
}

/// `value` if it is a plausible MIME type (`type/subtype`, parameters allowed) that cannot
/// break out of its header; otherwise the type of any bytes.
fn content_type(value: &str) -> &str {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let plausible = value.len() <= 200
        && value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        && essence
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s));
    if plausible {
        value
    } else {
        "application/octet-stream"
    }
}

/// The bare address of `"Name" <address>` (what SES checks the sender identity against).
pub fn address(mailbox_text: &str) -> Result<String, String> {
    mailbox(mailbox_text).map(|(_, address)| address)
}

/// The display name and the address of `value`: `"Name" <address>`, `Name <address>` or a
/// bare address.
fn mailbox(value: &str) -> Result<(Option<String>, String), String> {
    let value = value.trim();
    let (name, address) = match value.strip_suffix('>').and_then(|v| v.rsplit_once('<')) {
        Some((name, address)) => {
            let name = name.trim();
            let name = name
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .map(|n| n.replace("\\\"", "\"").replace("\\\\", "\\"))
                .unwrap_or_else(|| name.to_string());
            let name = one_line(&name);
            ((!name.is_empty()).then_some(name), address.trim())
        }
        None => (None, value),
    };
    let usable = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !address.chars().any(spa_schema::check::unsafe_in_address);
    if usable {
        Ok((name, address.to_string()))
    } else {
        Err(format!("not an e-mail address: {:?}", truncated(value)))
    }
}

/// The Markdown as HTML: tables and strikethrough on; raw HTML shown as text and links other
/// than web and mail ones disabled, as an e-mail body is no place for script.
fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        // A block of HTML is shown as a paragraph of text.
        Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// `url` if it is relative or of a web or mail scheme; `#` otherwise (`javascript:`, `data:`…).
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers ignore blanks and controls in a scheme ("java\tscript:"): so does this check.
    let compact: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme = compact
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|s| !s.contains(['/', '?', '#']));
    match scheme {
        None | Some("http" | "https" | "mailto") => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

/// `value` with control characters (line breaks included) made spaces: for headers and lines.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Text for HTML, inside elements and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing into a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, text);
    out
}

/// The size of `n` bytes in base64, without line breaks.
fn base64_len(n: usize) -> usize {
    n.div_ceil(3).saturating_mul(4)
}

fn truncated(value: &str) -> String {
    value.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use mail_parser::{Message, MessageParser, MimeHeaders};

    use super::*;

    const MARKDOWN: &str = "# Summary cost report for 2026-11\n\
        \n\
        | Cost center | USD |\n\
        |---|---:|\n\
        | research | 1,234.56 |\n\
        | ~~legacy~~ | 0.00 |\n\
        \n\
        <script>alert('x')</script>\n\
        \n\
        Totals by account are in the attached <b>workbook</b>.\n";

    fn csv() -> Attachment {
        Attachment {
            name: "costs-2026-11.csv".to_string(),
            content_type: "text/csv".to_string(),
            // Bare line feeds and a trailing space: text a 7-bit encoding would alter.
            bytes: b"center,usd\nresearch,1234.56 \nlegacy,0\n".to_vec(),
            location: "s3://reports-bucket/costs/2026-11/costs-2026-11.csv".to_string(),
        }
    }

    fn workbook(size: usize) -> Attachment {
        Attachment {
            name: "costs-2026-11.xlsx".to_string(),
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                .to_string(),
            bytes: (0..size).map(|i| (i * 7 % 256) as u8).collect(),
            location: "s3://reports-bucket/costs/2026-11/costs-2026-11.xlsx".to_string(),
        }
    }

    fn email(attachments: Vec<Attachment>) -> Email {
        Email {
            from: "\"SPA\" <spa@example.com>".to_string(),
            to: vec![
                "finance@example.com".to_string(),
                "Owner <owner@example.org>".to_string(),
            ],
            subject: "Summary cost report for 2026-11".to_string(),
            markdown: MARKDOWN.to_string(),
            attachments,
        }
    }

    fn parse(raw: &[u8]) -> Message<'_> {
        MessageParser::default().parse(raw).unwrap()
    }

    /// The text part, line ends back to the Markdown's: MIME text travels with CRLF.
    fn text(message: &Message<'_>) -> String {
        message.body_text(0).unwrap().replace("\r\n", "\n")
    }

    fn html(message: &Message<'_>) -> String {
        message.body_html(0).unwrap().into_owned()
    }

    /// The size of `email` composed with no limit.
    fn size(email: &Email) -> usize {
        compose(email, usize::MAX).unwrap().raw.len()
    }

    #[test]
    fn composes_the_report_with_its_files() {
        let composed = compose(&email(vec![csv(), workbook(3000)]), 1 << 20).unwrap();
        assert_eq!(
            composed.attached,
            ["costs-2026-11.csv", "costs-2026-11.xlsx"]
        );
        assert!(composed.linked.is_empty());

        let message = parse(&composed.raw);
        let from = message.from().unwrap().first().unwrap();
        assert_eq!(from.address(), Some("spa@example.com"));
        assert_eq!(from.name(), Some("SPA"));
        let to: Vec<_> = message.to().unwrap().iter().map(|a| a.address()).collect();
        assert_eq!(to, [Some("finance@example.com"), Some("owner@example.org")]);
        assert_eq!(message.subject(), Some("Summary cost report for 2026-11"));
        assert!(message.date().is_some());

        assert_eq!(text(&message), MARKDOWN);
        let html = html(&message);
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("<title>Summary cost report for 2026-11</title>"));
        assert!(
            html.contains("<h1>Summary cost report for 2026-11</h1>"),
            "{html}"
        );
        assert!(html.contains("<table>") && html.contains("<td>research</td>"));
        assert!(html.contains("<del>legacy</del>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<b>") && html.contains("&lt;b&gt;workbook"));
        assert!(!html.contains(LINKED_HEADING));

        let files: Vec<_> = message.attachments().collect();
        assert_eq!(files.len(), 2);
        for (file, expected) in files.iter().zip([csv(), workbook(3000)]) {
            assert_eq!(file.attachment_name(), Some(expected.name.as_str()));
            let ct = file.content_type().unwrap();
            let full = format!("{}/{}", ct.ctype(), ct.subtype().unwrap());
            assert_eq!(full, expected.content_type);
            assert_eq!(file.contents(), expected.bytes.as_slice());
        }
        // Lines stay within SMTP's 998 characters, whatever the content.
        assert!(composed.raw.split(|b| *b == b'\n').all(|l| l.len() <= 998));
    }

    #[test]
    fn a_file_too_large_is_listed_with_its_location() {
        let small = workbook(3000);
        let mut large = workbook(40_000);
        large.name = "costs-2026-11-by-account.xlsx".to_string();
        large.location = "s3://reports-bucket/costs/2026-11/by-account.xlsx".to_string();
        // Room for the small file and the link to the large one, not for the large file.
        let limit = size(&email(vec![small.clone()])) + 2000;
        let composed = compose(&email(vec![small.clone(), large.clone()]), limit).unwrap();
        assert!(composed.raw.len() < limit);
        assert_eq!(composed.attached, [small.name.as_str()]);
        assert_eq!(composed.linked, [large.name.as_str()]);

        let message = parse(&composed.raw);
        let files: Vec<_> = message.attachments().collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].contents(), small.bytes.as_slice());
        let line = format!("{}: {}", large.name, large.location);
        let text = text(&message);
        assert_eq!(
            text,
            format!("{MARKDOWN}\n{LINKED_HEADING}\n\n{line}\n"),
            "the Markdown, then the list"
        );
        let html = html(&message);
        assert!(html.contains(LINKED_HEADING), "{html}");
        assert!(html.contains(&format!("<li>{line}</li>")), "{html}");
    }

    #[test]
    fn a_later_smaller_file_is_still_attached() {
        let large = workbook(40_000);
        let small = csv();
        let limit = size(&email(vec![small.clone()])) + 2000;
        let composed = compose(&email(vec![large.clone(), small.clone()]), limit).unwrap();
        assert_eq!(composed.attached, [small.name]);
        assert_eq!(composed.linked, [large.name]);
    }

    #[test]
    fn a_message_too_large_without_files_is_an_error() {
        let bare = size(&email(vec![]));
        let err = compose(&email(vec![csv()]), bare).unwrap_err();
        assert!(err.contains("without attachments"), "{err}");
        assert!(compose(&email(vec![]), 100).is_err());
    }

    #[test]
    fn non_ascii_survives_the_round_trip() {
        let mut file = csv();
        file.name = "coûts-日本.csv".to_string();
        let mut email = email(vec![file.clone()]);
        email.from = "\"Équipe 日本\" <spa@example.com>".to_string();
        email.subject = "Coûts de 2026-11 — 日本".to_string();
        email.markdown = "# Coûts — 日本\n\nCafé: 12,00 €\n".to_string();

        let composed = compose(&email, 1 << 20).unwrap();
        let message = parse(&composed.raw);
        let from = message.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Équipe 日本"));
        assert_eq!(message.subject(), Some("Coûts de 2026-11 — 日本"));
        assert_eq!(text(&message), email.markdown);
        let page = html(&message);
        assert!(page.contains("<h1>Coûts — 日本</h1>"), "{page}");
        assert!(page.contains("<title>Coûts de 2026-11 — 日本</title>"));
        let files: Vec<_> = message.attachments().collect();
        assert_eq!(files[0].attachment_name(), Some("coûts-日本.csv"));
        assert_eq!(files[0].contents(), file.bytes.as_slice());

        // A linked file's non-ASCII name too.
        let limit = size(&Email {
            attachments: vec![],
            ..email.clone()
        }) + 1000;
        let mut big = workbook(40_000);
        big.name = "détail-日本.xlsx".to_string();
        email.attachments = vec![big];
        let composed = compose(&email, limit).unwrap();
        let message = parse(&composed.raw);
        assert!(text(&message).contains("détail-日本.xlsx: s3://"));
        assert!(html(&message).contains("<li>détail-日本.xlsx: s3://"));
    }

    #[test]
    fn addresses_are_parsed_or_refused() {
        assert_eq!(
            mailbox("\"SPA \\\"prod\\\"\" <spa@example.com>").unwrap(),
            (
                Some("SPA \"prod\"".to_string()),
                "spa@example.com".to_string()
            )
        );
        assert_eq!(
            mailbox("SPA <spa@example.com>").unwrap(),
            (Some("SPA".to_string()), "spa@example.com".to_string())
        );
        assert_eq!(
            mailbox(" spa@example.com ").unwrap(),
            (None, "spa@example.com".to_string())
        );
        assert_eq!(
            mailbox("<spa@example.com>").unwrap(),
            (None, "spa@example.com".to_string())
        );
        for bad in [
            "",
            "spa",
            "@example.com",
            "spa@",
            "a b@example.com",
            "SPA <spa@example.com",
            "spa@example.com\r\nBcc: x@evil.example",
        ] {
            assert!(mailbox(bad).is_err(), "{bad:?}");
        }
        let mut e = email(vec![]);
        e.to.clear();
        assert_eq!(compose(&e, usize::MAX).unwrap_err(), "no recipients");
        e.to = vec!["nobody".to_string()];
        assert!(compose(&e, usize::MAX).unwrap_err().starts_with("to: "));
    }

    #[test]
    fn script_links_are_disabled() {
        let html = render(
            "[a](javascript:alert(1)) [b](https://example.com/x) <JaVaScRiPt:x> \
             ![d](data:image/png;base64,AA) [e](/relative) <mailto:x@example.com>",
        );
        assert!(
            !html.to_ascii_lowercase().contains("href=\"javascript"),
            "{html}"
        );
        assert!(!html.contains("src=\"data:"), "{html}");
        assert!(html.contains("href=\"https://example.com/x\""));
        assert!(html.contains("href=\"/relative\""));
        assert!(html.contains("href=\"mailto:x@example.com\""));
        assert_eq!(&*safe_url("java\tscript:alert(1)".into()), "#");
        assert_eq!(
            &*safe_url(" HTTPS://example.com".into()),
            " HTTPS://example.com"
        );
    }

    #[test]
    fn odd_content_types_fall_back_to_bytes() {
        assert_eq!(content_type("text/csv"), "text/csv");
        assert_eq!(
            content_type("text/csv; charset=utf-8"),
            "text/csv; charset=utf-8"
        );
        assert_eq!(content_type("csv"), "application/octet-stream");
        assert_eq!(
            content_type("text/csv\r\nBcc: x@evil.example"),
            "application/octet-stream"
        );
    }
}
