//! Opening a settings repository: a local path (a working copy or a bare repository) or a URL,
//! mirrored in the cache.

#[allow(unused_imports)]
use super::*;

pub(super) enum Location<'a> {
    Local(PathBuf),
    Remote(&'a str),
}

/// Tells a URL from a local path the way Git does: a scheme, or a colon with no slash before
/// it (`git@host:path`), makes a URL; write `./a:b` for a local directory named `a:b`.
pub(super) fn classify(repo: &str) -> Location<'_> {
    if repo.contains("://") {
        return Location::Remote(repo);
    }
    if let Some((before, _)) = repo.split_once(':') {
        let drive_letter = before.len() == 1 && before.chars().all(|c| c.is_ascii_alphabetic());
        if !before.is_empty() && !before.contains('/') && !drive_letter {
            return Location::Remote(repo);
        }
    }
    Location::Local(PathBuf::from(repo))
}

pub(super) fn open_local_source(
    options: &SourceOptions,
    path: &Path,
) -> Result<Source, SourceError> {
    let display = path.display().to_string();
    let repo = open_local(path, &display)?;
    if options.worktree {
        if let Some(reference) = &options.reference {
            return Err(SourceError::WorktreeWithReference {
                repo: display,
                reference: reference.clone(),
            });
        }
        let Some(workdir) = repo.workdir() else {
            return Err(SourceError::WorktreeOfBare { repo: display });
        };
        let root = fs::canonicalize(workdir).map_err(|e| SourceError::NotARepository {
            path: display.clone(),
            message: e.to_string(),
        })?;
        let revision = worktree_revision(&repo, &display)?;
        return Ok(Source {
            repo,
            origin: Origin::Local { display },
            mode: Mode::Worktree { root },
            requested: None,
            revision,
        });
    }
    let (tree, revision) = resolve(&repo, options.reference.as_deref(), false, &display)?;
    Ok(Source {
        repo,
        origin: Origin::Local { display },
        mode: Mode::Commit { tree },
        requested: options.reference.clone(),
        revision,
    })
}

/// Opens exactly `path` (no search upwards): reading a parent repository by accident would
/// apply the wrong settings. `discover` only serves to name the root in the error.
pub(super) fn open_local(path: &Path, display: &str) -> Result<Repository, SourceError> {
    match Repository::open(path) {
        Ok(repo) => Ok(repo),
        Err(error) => {
            if !path.exists() {
                return Err(SourceError::PathNotFound {
                    path: display.to_string(),
                });
            }
            if let Ok(outer) = Repository::discover(path) {
                let root = outer.workdir().unwrap_or_else(|| outer.path());
                let root = root.display().to_string();
                return Err(SourceError::NotRepositoryRoot {
                    path: display.to_string(),
                    root: root.trim_end_matches('/').to_string(),
                });
            }
            Err(SourceError::NotARepository {
                path: display.to_string(),
                message: error.message().to_string(),
            })
        }
    }
}

pub(super) fn open_remote_source(
    options: &SourceOptions,
    url: &str,
) -> Result<Source, SourceError> {
    let display = redact_url(url);
    if options.worktree {
        return Err(SourceError::WorktreeOfRemote { repo: display });
    }
    if url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        && display != url
    {
        return Err(SourceError::PlainHttpCredentials { url: display });
    }
    let cache = match &options.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
            .ok_or(SourceError::NoCacheDir)?,
    };
    let mirror = cache.join(cache_dir_name(url));
    let repo = open_mirror(url, &display, &mirror)?;
    let (tree, revision) = resolve(&repo, options.reference.as_deref(), true, &display)?;
    Ok(Source {
        repo,
        origin: Origin::Remote {
            url: url.to_string(),
            display,
            mirror,
        },
        mode: Mode::Commit { tree },
        requested: options.reference.clone(),
        revision,
    })
}
