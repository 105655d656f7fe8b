//! Remote repositories, kept as bare mirrors in a cache directory, one per URL.

#[allow(unused_imports)]
use super::*;

/// `$XDG_CACHE_HOME/spa/repos` (the spec says to ignore a relative value), else
/// `$HOME/.cache/spa/repos`.
pub(super) fn default_cache_dir(
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    if let Some(xdg) = xdg_cache_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Some(xdg.join("spa").join("repos"));
    }
    home.filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("spa").join("repos"))
}

/// The URL without secrets, for messages, logs and the mirror's name. http(s) loses its whole
/// user information (a token often sits in the user part: `https://TOKEN@host/...`); ssh
/// keeps a username but loses any password.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let Some((userinfo, host)) = authority.rsplit_once('@') else {
            return url.to_string();
        };
        let keep_user =
            scheme.eq_ignore_ascii_case("ssh") || scheme.eq_ignore_ascii_case("git+ssh");
        return match userinfo.split_once(':') {
            _ if !keep_user => format!("{scheme}://{host}{path}"),
            Some((user, _password)) => format!("{scheme}://{user}@{host}{path}"),
            None => url.to_string(),
        };
    }
    // scp-like `user@host:path`: Git has no password syntax here, but drop one if present.
    if let Some((userinfo, rest)) = url.split_once('@')
        && !userinfo.contains('/')
        && let Some((user, _password)) = userinfo.split_once(':')
    {
        return format!("{user}@{rest}");
    }
    url.to_string()
}

/// The mirror's directory name: the redacted URL made filesystem-safe, plus a hash of it so
/// that URLs differing only in replaced characters (`a/b_c`, `a_b/c`) get different mirrors.
pub(super) fn cache_dir_name(url: &str) -> String {
    const READABLE: usize = 64;
    let public = redact_url(url);
    let without_scheme = public
        .split_once("://")
        .map_or(public.as_str(), |(_, rest)| rest);
    let mut name = String::new();
    for c in without_scheme.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    // No leading dot: temporary clones start with one, and `..` must never come out.
    let mut name = name.trim_matches(|c| c == '_' || c == '.').to_string();
    name.truncate(READABLE);
    if name.is_empty() {
        name.push_str("repo");
    }
    format!("{name}-{:016x}", fnv1a(public.as_bytes()))
}

/// FNV-1a: tiny, and stable across Rust releases (unlike `DefaultHasher`), so a mirror keeps
/// its name when spa is rebuilt.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Opens the mirror, fetching it, or clones it. Lock-free but safe against another process
/// doing the same: the clone happens in a temporary directory next to the mirror, renamed
/// into place in one step; whoever loses the race uses the winner's mirror.
pub(super) fn open_mirror(
    url: &str,
    display: &str,
    mirror: &Path,
) -> Result<Repository, SourceError> {
    if mirror.exists() {
        let repo = open_cached(mirror, display)?;
        fetch_mirror(&repo, url, display, mirror)?;
        return Ok(repo);
    }
    let parent = mirror.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|source| SourceError::CacheDir {
        path: parent.display().to_string(),
        source,
    })?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = mirror
        .file_name()
        .map_or_else(|| "repo".to_string(), |n| n.to_string_lossy().into_owned());
    let temporary = parent.join(format!(".tmp-{name}-{}-{nanos}", std::process::id()));
    // tracing's macros bring a `display` function into scope, which shadows a variable so named.
    let public = display;
    tracing::info!(repo = %public, cache = %mirror.display(), "cloning settings repository");
    if let Err(error) = clone_mirror(url, display, &temporary) {
        let _ = fs::remove_dir_all(&temporary);
        return Err(error);
    }
    if let Err(source) = fs::rename(&temporary, mirror) {
        let _ = fs::remove_dir_all(&temporary);
        if !mirror.exists() {
            return Err(SourceError::CacheDir {
                path: mirror.display().to_string(),
                source,
            });
        }
        tracing::debug!(
            repo = %public,
            "another process cloned the repository first"
        );
    }
    open_cached(mirror, display)
}

pub(super) fn open_cached(mirror: &Path, display: &str) -> Result<Repository, SourceError> {
    Repository::open_bare(mirror).map_err(|e| SourceError::CorruptCache {
        repo: display.to_string(),
        path: mirror.display().to_string(),
        message: e.message().to_string(),
    })
}

pub(super) fn clone_mirror(url: &str, display: &str, into: &Path) -> Result<(), SourceError> {
    let auth = AuthState::default();
    let mut builder = RepoBuilder::new();
    builder
        .bare(true)
        .fetch_options(fetch_options(&auth))
        .remote_create(|repo, name, url| {
            repo.remote_with_fetch(name, url, MIRROR_REFSPECS[0])?;
            repo.remote_add_fetch(name, MIRROR_REFSPECS[1])?;
            repo.find_remote(name)
        });
    let repo = builder.clone(url, into).map_err(|e| {
        auth.error(&e, display)
            .unwrap_or_else(|| SourceError::Clone {
                url: display.to_string(),
                message: scrub(e.message(), url, display),
            })
    })?;
    // Fetches go through an anonymous remote with the URL as given; the stored one carries no
    // credentials so none sit in the cache's config file.
    repo.remote_set_url("origin", display)
        .map_err(|e| git_error("configuring the mirror", display, &e))?;
    // With mirror refspecs libgit2 finds the default branch already created and skips pointing
    // HEAD at it; it did record it as `origin/HEAD`, so take it from there.
    if let Ok(mut remote_head) = repo.find_reference("refs/remotes/origin/HEAD") {
        if let Ok(Some(target)) = remote_head.symbolic_target()
            && repo.find_reference(target).is_ok()
        {
            let target = target.to_string();
            repo.set_head(&target)
                .map_err(|e| git_error("updating HEAD of the mirror", display, &e))?;
        }
        // Not a remote-tracking branch in a mirror: it would only confuse `origin/...` names.
        let _ = remote_head.delete();
    }
    Ok(())
}

pub(super) fn fetch_mirror(
    repo: &Repository,
    url: &str,
    display: &str,
    mirror: &Path,
) -> Result<(), SourceError> {
    let public = display; // see open_mirror
    tracing::debug!(repo = %public, "fetching settings repository");
    let auth = AuthState::default();
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(|e| git_error("preparing the fetch", display, &e))?;
    let mut options = fetch_options(&auth);
    // A branch deleted upstream must stop resolving.
    options
        .prune(FetchPrune::On)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    remote
        .fetch(&MIRROR_REFSPECS, Some(&mut options), Some("spa: fetch"))
        .map_err(|e| {
            auth.error(&e, display)
                .unwrap_or_else(|| SourceError::Fetch {
                    url: display.to_string(),
                    path: mirror.display().to_string(),
                    message: scrub(e.message(), url, display),
                })
        })?;
    // Follow the remote's default branch, so `HEAD` keeps meaning what it means upstream.
    if let Ok(branch) = remote.default_branch()
        && let Ok(name) = branch.as_str()
        && repo.find_reference(name).is_ok()
    {
        repo.set_head(name)
            .map_err(|e| git_error("updating HEAD of the mirror", display, &e))?;
    }
    Ok(())
}
