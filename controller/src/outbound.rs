//! The HTTP client of what spa fetches or posts outside AWS: exchange rates, chat webhooks.
//! A redirect is followed only to where settings would let such a URL point — https, or
//! http on this machine (local relays, tests) — and at most three times. A redirect
//! elsewhere is not followed: its 3xx is the answer, and the error names it.

/// The builder of [`client`], for callers that add to it.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 3 || !allowed(attempt.url()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    }))
}

/// The client for rates and webhooks.
pub fn client() -> reqwest::Client {
    builder().build().unwrap_or_else(|_| reqwest::Client::new())
}

/// Whether a redirect may lead to `url`.
fn allowed(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_go_where_settings_would_point() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(allowed(&url("https://www.ecb.europa.eu/x")));
        assert!(allowed(&url("http://127.0.0.1:8080/x")));
        assert!(allowed(&url("http://localhost/x")));
        assert!(allowed(&url("http://[::1]/x")));
        assert!(!allowed(&url("http://www.ecb.europa.eu/x")), "a downgrade");
        assert!(!allowed(&url("http://169.254.169.254/latest/meta-data/")));
        assert!(!allowed(&url("file:///etc/passwd")));
    }
}
