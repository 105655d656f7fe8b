//! Credentials for remotes: a token from the environment for https, the agent for ssh.
//!
//! A token never travels unencrypted: nothing is sent to a plain `http://` remote. And a
//! token is sent only where it belongs: `SPA_GIT_TOKEN` to the https remote the operator
//! configured, `GITHUB_TOKEN` (which CI systems set for their own use) only to GitHub —
//! github.com, or the server of `GITHUB_SERVER_URL` (GitHub Enterprise).

#[allow(unused_imports)]
use super::*;

/// What the credentials callback did, to tell an authentication failure from others.
#[derive(Default)]
pub(super) struct AuthState {
    pub(super) attempts: Cell<u32>,
    pub(super) refused: Cell<bool>,
    /// Why no credential was given, when it was a rule of ours (shown to the user).
    pub(super) withheld: Cell<Option<&'static str>>,
}

impl AuthState {
    fn failed(&self, error: &git2::Error) -> bool {
        self.refused.get() || error.code() == ErrorCode::Auth
    }

    /// The error of a clone or fetch that failed on credentials (withheld by a rule of
    /// ours, or refused by the remote); `None` when it failed for another reason.
    pub(super) fn error(&self, error: &git2::Error, display: &str) -> Option<SourceError> {
        if let Some(why) = self.withheld.get() {
            return Some(SourceError::CredentialsWithheld {
                url: display.to_string(),
                why,
            });
        }
        self.failed(error).then(|| SourceError::Authentication {
            url: display.to_string(),
        })
    }
}

pub(super) fn fetch_options(auth: &AuthState) -> FetchOptions<'_> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username_from_url, allowed| {
        credentials(auth, url, username_from_url, allowed, &|name| {
            std::env::var(name).ok()
        })
    });
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks);
    options
}

/// The scheme and host of a URL (`https://user@host:443/x` → `("https", "host")`).
fn scheme_and_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next()?,
        None => host.split(':').next()?,
    };
    Some((scheme, host))
}

/// The token to send to `url`, if any, read from `env` at every fetch (a rotated token is
/// picked up by a long-running controller).
pub(super) fn token_for(
    url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, &'static str> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let Some((scheme, host)) = scheme_and_host(url) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("https") {
        if var(TOKEN_VARIABLES[0]).is_some() || var(TOKEN_VARIABLES[1]).is_some() {
            return Err(
                "the remote asks for credentials over plain http: spa never sends a token unencrypted; use an https URL",
            );
        }
        return Ok(None);
    }
    if let Some(token) = var(TOKEN_VARIABLES[0]) {
        return Ok(Some(token));
    }
    let github = host.eq_ignore_ascii_case("github.com")
        || var("GITHUB_SERVER_URL")
            .as_deref()
            .and_then(scheme_and_host)
            .is_some_and(|(_, server)| server.eq_ignore_ascii_case(host));
    match var(TOKEN_VARIABLES[1]) {
        Some(token) if github => Ok(Some(token)),
        Some(_) => {
            Err("GITHUB_TOKEN is sent to GitHub only, not to this host: set SPA_GIT_TOKEN for it")
        }
        None => Ok(None),
    }
}

/// The credentials callback. libgit2 calls it again after each rejection, so it counts.
pub(super) fn credentials(
    auth: &AuthState,
    url: &str,
    username_from_url: Option<&str>,
    allowed: CredentialType,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Cred, git2::Error> {
    let attempt = auth.attempts.get() + 1;
    auth.attempts.set(attempt);
    // ssh asks for a username before a key: one more call than there are attempts.
    if attempt > MAX_AUTH_ATTEMPTS + 1 {
        auth.refused.set(true);
        return Err(git2::Error::from_str("authentication failed"));
    }
    if allowed.contains(CredentialType::USERNAME) {
        return Cred::username(username_from_url.unwrap_or("git"));
    }
    if allowed.contains(CredentialType::SSH_KEY) {
        return Cred::ssh_key_from_agent(username_from_url.unwrap_or("git"));
    }
    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
        match token_for(url, env) {
            Ok(Some(token)) => {
                return Cred::userpass_plaintext(
                    username_from_url.unwrap_or(TOKEN_USERNAME),
                    &token,
                );
            }
            Ok(None) => {}
            Err(why) => {
                auth.withheld.set(Some(why));
                auth.refused.set(true);
                return Err(git2::Error::from_str(why));
            }
        }
    }
    auth.refused.set(true);
    Err(git2::Error::from_str("no usable credentials"))
}

/// Defence in depth for libgit2 messages that could quote the URL or the token.
pub(super) fn scrub(message: &str, url: &str, display: &str) -> String {
    let mut message = message.replace(url, display);
    for name in TOKEN_VARIABLES {
        if let Ok(value) = std::env::var(name)
            && value.len() >= 4
        {
            message = message.replace(&value, "***");
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn tokens_go_only_over_https_and_github_tokens_only_to_github() {
        let spa = env(&[("SPA_GIT_TOKEN", "spa-secret")]);
        let github = env(&[("GITHUB_TOKEN", "gh-secret")]);
        let enterprise = env(&[
            ("GITHUB_TOKEN", "gh-secret"),
            ("GITHUB_SERVER_URL", "https://git.example.com"),
        ]);
        let none = env(&[]);
        type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
        type Case<'a> = (&'a str, Env<'a>, Result<Option<&'a str>, &'a str>);
        let cases: [Case; 9] = [
            (
                "https://git.example.com/s.git",
                &spa,
                Ok(Some("spa-secret")),
            ),
            ("http://git.example.com/s.git", &spa, Err("plain http")),
            ("HTTP://git.example.com/s.git", &github, Err("plain http")),
            ("http://git.example.com/s.git", &none, Ok(None)),
            ("https://github.com/o/s.git", &github, Ok(Some("gh-secret"))),
            (
                "https://x@GitHub.com:443/o/s.git",
                &github,
                Ok(Some("gh-secret")),
            ),
            (
                "https://evil.example.com/s.git",
                &github,
                Err("GitHub only"),
            ),
            (
                "https://github.com.evil.example/s.git",
                &github,
                Err("GitHub only"),
            ),
            (
                "https://git.example.com/s.git",
                &enterprise,
                Ok(Some("gh-secret")),
            ),
        ];
        for (url, env, expected) in cases {
            match (token_for(url, env), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got.as_deref(), want, "{url}"),
                (Err(why), Err(part)) => assert!(why.contains(part), "{url}: {why}"),
                (got, want) => panic!("{url}: {got:?} instead of {want:?}"),
            }
        }
    }

    #[test]
    fn the_callback_never_sends_a_token_over_http() {
        let auth = AuthState::default();
        let spa = env(&[("SPA_GIT_TOKEN", "spa-secret")]);
        let plain = credentials(
            &auth,
            "http://git.example.com/s.git",
            None,
            CredentialType::USER_PASS_PLAINTEXT,
            &spa,
        );
        assert!(plain.is_err());
        assert!(auth.refused.get());
        assert!(
            auth.withheld
                .get()
                .is_some_and(|w| w.contains("plain http"))
        );
    }
}
