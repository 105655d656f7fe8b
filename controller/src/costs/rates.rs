//! Reference exchange rates: the European Central Bank's daily rates (EUR base, XML), turned
//! into "units of a currency per USD" for the extra charges summaries of the cost reports.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::{Decimal, RoundingStrategy};

/// The rates of one day, as published: units of each currency per EUR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    /// The day the rates are of (`YYYY-MM-DD`).
    pub date: String,
    /// Units of each currency (ISO 4217 code) per EUR.
    per_eur: BTreeMap<String, Decimal>,
}

/// The largest rate a document may give (the weakest currencies are near 10^5 a euro).
const MAX_RATE: u64 = 1_000_000_000;

/// Places kept in a converted rate: enough for any currency's amounts, and stable in reports.
const DECIMAL_PLACES: u32 = 6;

/// The ECB's document is a few kilobytes; anything far larger is not a rates document.
const MAX_BODY_BYTES: usize = 1024 * 1024;

const TIMEOUT: Duration = Duration::from_secs(30);

impl Rates {
    /// Parses a document in the format of the ECB's `eurofxref-daily.xml`. When the document
    /// holds several days (the ECB's history files), the first one, the latest, is taken.
    pub fn parse(xml: &str) -> Result<Rates, String> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not XML: {e}"))?;
        let day = doc
            .descendants()
            .find(|n| n.tag_name().name() == "Cube" && n.has_attribute("time"))
            .ok_or("no dated Cube element")?;
        let date = day.attribute("time").unwrap_or_default();
        if date.parse::<jiff::civil::Date>().is_err() {
            return Err(format!("bad date {:?}", truncated(date)));
        }
        let mut per_eur = BTreeMap::new();
        for cube in day
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == "Cube")
        {
            let currency = cube
                .attribute("currency")
                .ok_or("a Cube without currency")?;
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("bad currency code {:?}", truncated(currency)));
            }
            let rate = cube
                .attribute("rate")
                .ok_or_else(|| format!("{currency}: no rate"))?;
            let value = Decimal::from_str(rate.trim())
                .ok()
                // Within a billion either way: the ratio of two rates stays a number.
                .filter(|r| {
                    *r > Decimal::ONE / Decimal::from(MAX_RATE) && *r < Decimal::from(MAX_RATE)
                })
                .ok_or_else(|| format!("{currency}: bad rate {:?}", truncated(rate)))?;
            if per_eur.insert(currency.to_string(), value).is_some() {
                return Err(format!("{currency}: two rates"));
            }
        }
        if per_eur.is_empty() {
            return Err(format!("no rates for {date}"));
        }
        Ok(Rates {
            date: date.to_string(),
            per_eur,
        })
    }

    /// How many units of `currency` one USD buys, rounded to 6 decimal places; `None` when the
    /// document has no rate for `currency` or for USD.
    pub fn usd_to(&self, currency: &str) -> Option<Decimal> {
        if currency == "USD" {
            return Some(Decimal::ONE);
        }
        let usd = self.per_eur.get("USD")?;
        let per_eur = if currency == "EUR" {
            Decimal::ONE
        } else {
            *self.per_eur.get(currency)?
        };
        // Both rates are bounded (checked when parsing); a ratio past a billion is refused,
        // so that no amount converted with it overflows.
        per_eur
            .checked_div(*usd)
            .filter(|r| *r < Decimal::from(MAX_RATE))
            .map(|r| {
                r.round_dp_with_strategy(DECIMAL_PLACES, RoundingStrategy::MidpointAwayFromZero)
            })
    }

    /// The currencies the document has a rate for, EUR included (the base), sorted.
    pub fn currencies(&self) -> impl Iterator<Item = &str> {
        let eur = (!self.per_eur.contains_key("EUR")).then_some("EUR");
        let mut all: Vec<&str> = self.per_eur.keys().map(String::as_str).chain(eur).collect();
        all.sort_unstable();
        all.into_iter()
    }
}

/// Why the rates could not be had; names the host only (a URL's path or query may carry a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatesError {
    #[error("exchange rates from {host}: timed out")]
    Timeout { host: String },
    #[error("exchange rates from {host}: unreachable")]
    Unreachable { host: String },
    #[error("exchange rates from {host}: HTTP {status}")]
    Status { host: String, status: u16 },
    #[error("exchange rates from {host}: document over {limit} bytes")]
    TooLarge { host: String, limit: usize },
    #[error("exchange rates from {host}: {reason}")]
    Invalid { host: String, reason: String },
}

/// Fetches and parses the rates document at `url` (validated by the settings).
pub async fn fetch(http: &reqwest::Client, url: &str) -> Result<Rates, RatesError> {
    let host = host(url);
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            RatesError::Timeout { host: host.clone() }
        } else {
            RatesError::Unreachable { host: host.clone() }
        }
    };
    let mut response = http
        .get(url)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(RatesError::Status {
            host,
            status: status.as_u16(),
        });
    }
    let too_large = || RatesError::TooLarge {
        host: host.clone(),
        limit: MAX_BODY_BYTES,
    };
    // A declared length says it early; chunks are still counted, as a server may not declare.
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let invalid = |reason: String| RatesError::Invalid {
        host: host.clone(),
        reason,
    };
    let text = String::from_utf8(body).map_err(|_| invalid("not UTF-8".to_string()))?;
    Rates::parse(&text).map_err(invalid)
}

/// The host of `url`, or `?` (an unparsable URL is not shown at all).
fn host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

/// A value from the document, cut short for an error message.
fn truncated(value: &str) -> String {
    value.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const ECB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
	<gesmes:subject>Reference rates</gesmes:subject>
	<gesmes:Sender>
		<gesmes:name>European Central Bank</gesmes:name>
	</gesmes:Sender>
	<Cube>
		<Cube time='2026-12-02'>
			<Cube currency='USD' rate='1.0512'/>
			<Cube currency='JPY' rate='158.37'/>
			<Cube currency='BGN' rate='1.9558'/>
			<Cube currency='CZK' rate='25.123'/>
			<Cube currency='DKK' rate='7.4573'/>
			<Cube currency='GBP' rate='0.8301'/>
			<Cube currency='HUF' rate='410.25'/>
			<Cube currency='PLN' rate='4.2715'/>
			<Cube currency='RON' rate='4.9748'/>
			<Cube currency='SEK' rate='11.1055'/>
			<Cube currency='CHF' rate='0.9312'/>
			<Cube currency='NOK' rate='11.7195'/>
			<Cube currency='AUD' rate='1.6182'/>
			<Cube currency='CAD' rate='1.4728'/>
		</Cube>
	</Cube>
</gesmes:Envelope>
"#;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn with_rate(rate: &str) -> String {
        ECB.replace("rate='0.8301'", &format!("rate='{rate}'"))
    }

    #[test]
    fn parses_the_ecb_daily_document() {
        let rates = Rates::parse(ECB).unwrap();
        assert_eq!(rates.date, "2026-12-02");
        assert_eq!(rates.per_eur.len(), 14);
        assert_eq!(rates.per_eur["GBP"], dec("0.8301"));
        let currencies: Vec<&str> = rates.currencies().collect();
        assert!(currencies.contains(&"EUR") && currencies.contains(&"CHF"));
        assert!(currencies.is_sorted());
    }

    #[test]
    fn converts_from_usd() {
        let rates = Rates::parse(ECB).unwrap();
        assert_eq!(rates.usd_to("USD"), Some(Decimal::ONE));
        // 1 / 1.0512 = 0.95129375…
        assert_eq!(rates.usd_to("EUR"), Some(dec("0.951294")));
        // 158.37 / 1.0512 = 150.65639269…
        assert_eq!(rates.usd_to("JPY"), Some(dec("150.656393")));
        // 0.8301 / 1.0512 = 0.78966894…
        assert_eq!(rates.usd_to("GBP"), Some(dec("0.789669")));
        // 0.9312 / 1.0512 = 0.88584474…
        assert_eq!(rates.usd_to("CHF"), Some(dec("0.885845")));
    }

    #[test]
    fn unknown_currencies_have_no_rate() {
        let rates = Rates::parse(ECB).unwrap();
        assert_eq!(rates.usd_to("XYZ"), None);
        assert_eq!(rates.usd_to("jpy"), None);
        let without_usd = Rates::parse(&ECB.replace("'USD'", "'ZZZ'")).unwrap();
        assert_eq!(without_usd.usd_to("JPY"), None);
        assert_eq!(without_usd.usd_to("EUR"), None);
        assert_eq!(without_usd.usd_to("USD"), Some(Decimal::ONE));
    }

    #[test]
    fn rates_that_would_overflow_a_conversion_are_refused() {
        let tiny = ECB.replace("rate='1.0512'", "rate='0.000000000000001'");
        assert!(Rates::parse(&tiny).unwrap_err().contains("USD: bad rate"));
        // Each rate within bounds, their ratio not: no rate, never an overflow.
        let apart = ECB
            .replace("rate='1.0512'", "rate='0.0001'")
            .replace("rate='158.37'", "rate='999999'");
        let rates = Rates::parse(&apart).unwrap();
        assert_eq!(rates.usd_to("JPY"), None);
        assert_eq!(rates.usd_to("GBP"), Some(dec("8301")));
    }

    #[test]
    fn takes_the_latest_day_of_a_history_document() {
        let history = ECB.replace(
            "\t</Cube>\n</gesmes",
            "\t\t<Cube time='2026-12-01'><Cube currency='USD' rate='2'/></Cube>\n\t</Cube>\n</gesmes",
        );
        let rates = Rates::parse(&history).unwrap();
        assert_eq!(rates.date, "2026-12-02");
        assert_eq!(rates.per_eur["USD"], dec("1.0512"));
    }

    #[test]
    fn malformed_documents_are_errors() {
        let err = Rates::parse("<Cube time='2026-12-02'>").unwrap_err();
        assert!(err.starts_with("not XML"), "{err}");
        let err = Rates::parse(&ECB.replace(" time='2026-12-02'", "")).unwrap_err();
        assert_eq!(err, "no dated Cube element");
        let err = Rates::parse(&ECB.replace("2026-12-02", "yesterday")).unwrap_err();
        assert_eq!(err, "bad date \"yesterday\"");
        for bad in ["abc", "0", "-1", "", "79228162514264337593543950335"] {
            let err = Rates::parse(&with_rate(bad)).unwrap_err();
            assert_eq!(err, format!("GBP: bad rate {bad:?}"));
        }
        let err = Rates::parse(&ECB.replace(" rate='0.8301'", "")).unwrap_err();
        assert_eq!(err, "GBP: no rate");
        let err = Rates::parse(&ECB.replace("'GBP'", "'USD'")).unwrap_err();
        assert_eq!(err, "USD: two rates");
        let err = Rates::parse(&ECB.replace("'GBP'", "'gb p'")).unwrap_err();
        assert!(err.starts_with("bad currency code"), "{err}");
        let empty = "<Envelope><Cube><Cube time='2026-12-02'></Cube></Cube></Envelope>";
        assert_eq!(Rates::parse(empty).unwrap_err(), "no rates for 2026-12-02");
    }

    /// Serves one raw HTTP/1.1 response on a local port; the URL to ask for it.
    async fn serve_once(head: String, body: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            // The client may hang up early (a refused body): not this server's concern.
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        });
        format!("http://127.0.0.1:{port}/stats/eurofxref/eurofxref-daily.xml?key=SECRET")
    }

    fn response(status: &str, body: &[u8]) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
    }

    fn client() -> reqwest::Client {
        // No proxy from the environment may stand between the test and its local server.
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    #[tokio::test]
    async fn fetches_the_rates() {
        let url = serve_once(response("200 OK", ECB.as_bytes()), ECB.into()).await;
        let rates = fetch(&client(), &url).await.unwrap();
        assert_eq!(rates.date, "2026-12-02");
        assert_eq!(rates.usd_to("JPY"), Some(dec("150.656393")));
    }

    #[tokio::test]
    async fn a_redirect_to_plain_http_elsewhere_is_not_followed() {
        let head = "HTTP/1.1 302 Found\r\nLocation: http://rates.example.com/eurofxref.xml\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let url = serve_once(head.to_string(), Vec::new()).await;
        let http = crate::outbound::builder().no_proxy().build().unwrap();
        let err = fetch(&http, &url).await.unwrap_err();
        assert_eq!(
            err,
            RatesError::Status {
                host: "127.0.0.1".to_string(),
                status: 302
            }
        );
        // On this machine, a redirect is followed.
        let target = serve_once(response("200 OK", ECB.as_bytes()), ECB.into()).await;
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let url = serve_once(head, Vec::new()).await;
        assert_eq!(fetch(&http, &url).await.unwrap().date, "2026-12-02");
        // Three redirects in a row are followed; a fourth is not.
        let redirect = |to: String| {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        };
        // Each server answers once: a chain per attempt.
        let chain = |hops: usize| async move {
            let mut url = serve_once(response("200 OK", ECB.as_bytes()), ECB.into()).await;
            for _ in 0..hops {
                url = serve_once(redirect(url), Vec::new()).await;
            }
            url
        };
        assert_eq!(
            fetch(&http, &chain(3).await).await.unwrap().date,
            "2026-12-02"
        );
        assert!(matches!(
            fetch(&http, &chain(4).await).await,
            Err(RatesError::Status { status: 302, .. })
        ));
    }

    #[tokio::test]
    async fn an_http_error_names_the_status_and_the_host_only() {
        let body = b"not found".to_vec();
        let url = serve_once(response("404 Not Found", &body), body).await;
        let err = fetch(&client(), &url).await.unwrap_err();
        assert_eq!(
            err,
            RatesError::Status {
                host: "127.0.0.1".to_string(),
                status: 404
            }
        );
        let shown = err.to_string();
        assert_eq!(shown, "exchange rates from 127.0.0.1: HTTP 404");
    }

    #[tokio::test]
    async fn a_declared_large_body_is_refused() {
        let body = vec![b' '; 2 * 1024 * 1024];
        let url = serve_once(response("200 OK", &body), body).await;
        let err = fetch(&client(), &url).await.unwrap_err();
        assert!(matches!(err, RatesError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn an_undeclared_large_body_is_cut_short() {
        // No Content-Length: the body runs until the server closes, so only counting stops it.
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n";
        let url = serve_once(head.to_string(), vec![b' '; 2 * 1024 * 1024]).await;
        let err = fetch(&client(), &url).await.unwrap_err();
        assert!(matches!(err, RatesError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn an_unparsable_document_is_invalid() {
        let body = b"<html>maintenance</html>".to_vec();
        let url = serve_once(response("200 OK", &body), body).await;
        let err = fetch(&client(), &url).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "exchange rates from 127.0.0.1: no dated Cube element"
        );
    }

    #[tokio::test]
    async fn an_unreachable_host_is_named() {
        // A port just released: nothing listens there.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/rates.xml");
        let err = fetch(&client(), &url).await.unwrap_err();
        assert_eq!(
            err,
            RatesError::Unreachable {
                host: "127.0.0.1".to_string()
            }
        );
    }

    #[test]
    fn only_the_host_is_shown() {
        assert_eq!(
            host("https://user:pw@rates.example.com:8443/daily.xml?key=SECRET"),
            "rates.example.com"
        );
        assert_eq!(host("not a url"), "?");
    }
}
