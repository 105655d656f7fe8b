//! The HTTP client of what spa fetches or posts outside AWS: exchange rates, chat webhooks.
//! A redirect is followed only to where settings would let such a URL point — https, or
//! http on this machine (local relays, tests) when the URL settings gave is itself on this
//! machine, so that no outside host can send spa to a local port — and at most three
//! times. A redirect elsewhere is not followed: its 3xx is the answer, and the error
//! names it.

/// The builder of [`client`], for callers that add to it.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::custom(|attempt| {
        // `previous` holds the URL settings gave, then each redirect followed.
        let from_here = attempt.previous().first().is_some_and(loopback);
        if attempt.previous().len() > 3 || !allowed(attempt.url(), from_here) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    }))
}

/// The client for rates and webhooks.
pub fn client() -> reqwest::Client {
    // Fails only where the TLS backend cannot start, as `Client::new` would.
    builder().build().expect("an HTTP client")
}

/// Whether a redirect may lead to `url` (`from_here`: the first URL was on this machine).
fn allowed(url: &reqwest::Url, from_here: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => from_here && loopback(url),
        _ => false,
    }
}

fn loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_go_where_settings_would_point() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(allowed(&url("https://www.ecb.europa.eu/x"), false));
        assert!(allowed(&url("http://127.0.0.1:8080/x"), true));
        assert!(allowed(&url("http://localhost/x"), true));
        assert!(allowed(&url("http://[::1]/x"), true));
        assert!(
            !allowed(&url("http://127.0.0.1:8080/x"), false),
            "an outside host sends spa to a local port"
        );
        assert!(
            !allowed(&url("http://www.ecb.europa.eu/x"), true),
            "a downgrade"
        );
        assert!(!allowed(
            &url("http://169.254.169.254/latest/meta-data/"),
            true
        ));
        assert!(!allowed(&url("file:///etc/passwd"), true));
    }
}
