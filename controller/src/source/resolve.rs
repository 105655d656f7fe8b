//! Resolving a reference (branch, tag, commit, revspec) to the tree it names.

#[allow(unused_imports)]
use super::*;

/// Resolves `requested` (`None` = `HEAD`) to a commit; returns its tree and the revision.
pub(super) fn resolve(
    repo: &Repository,
    requested: Option<&str>,
    mirror: bool,
    display: &str,
) -> Result<(Oid, Revision), SourceError> {
    let reference = requested.unwrap_or("HEAD");
    // Not `Repository::is_empty`: it only says yes when HEAD names `init.defaultBranch`.
    let no_refs = repo
        .references()
        .is_ok_and(|mut refs| refs.next().is_none());
    if no_refs {
        return Err(SourceError::EmptyRepository {
            repo: display.to_string(),
        });
    }
    let commit = if reference == "HEAD" {
        resolve_head(repo, display)?
    } else {
        resolve_name(repo, reference, mirror, display)?
    };
    let revision = Revision {
        commit: Some(commit.id().to_string()),
        reference: reference.to_string(),
        dirty: false,
        summary: summary(&commit),
        worktree: false,
    };
    Ok((commit.tree_id(), revision))
}

pub(super) fn resolve_head<'r>(
    repo: &'r Repository,
    display: &str,
) -> Result<Commit<'r>, SourceError> {
    match repo.head() {
        Ok(head) => head.peel_to_commit().map_err(|e| SourceError::NotACommit {
            reference: "HEAD".to_string(),
            repo: display.to_string(),
            kind: e.message().to_string(),
        }),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
            Err(SourceError::UnbornHead {
                repo: display.to_string(),
                branch: head_branch(repo),
                known: known_branches(repo),
            })
        }
        Err(e) => Err(git_error("reading HEAD", display, &e)),
    }
}

/// Tries the name as given, then with or without `origin/`: in a mirror, branches live under
/// `refs/heads/` and `origin/main` means `main`; in a working copy, `main` may exist only as
/// the remote-tracking `origin/main`.
pub(super) fn resolve_name<'r>(
    repo: &'r Repository,
    reference: &str,
    mirror: bool,
    display: &str,
) -> Result<Commit<'r>, SourceError> {
    let mut candidates = Vec::new();
    if mirror {
        candidates.push(format!("refs/heads/{reference}"));
    }
    candidates.push(reference.to_string());
    match reference.strip_prefix("origin/") {
        Some(rest) if mirror => candidates.push(format!("refs/heads/{rest}")),
        Some(rest) => candidates.push(rest.to_string()),
        None if !mirror && !reference.starts_with("refs/") => {
            candidates.push(format!("refs/remotes/origin/{reference}"));
        }
        None => {}
    }
    for candidate in &candidates {
        match repo.revparse_single(candidate) {
            Ok(object) => {
                return object
                    .peel_to_commit()
                    .map_err(|_| SourceError::NotACommit {
                        reference: reference.to_string(),
                        repo: display.to_string(),
                        kind: object
                            .kind()
                            .map_or_else(|| "unknown object".to_string(), |k| k.to_string()),
                    });
            }
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {}
            Err(e) if e.code() == ErrorCode::Ambiguous => {
                return Err(SourceError::InvalidReference {
                    reference: reference.to_string(),
                    repo: display.to_string(),
                    message: format!("{}; give more characters of the commit id", e.message()),
                });
            }
            Err(e) => {
                return Err(SourceError::InvalidReference {
                    reference: reference.to_string(),
                    repo: display.to_string(),
                    message: e.message().to_string(),
                });
            }
        }
    }
    Err(SourceError::ReferenceNotFound {
        reference: reference.to_string(),
        repo: display.to_string(),
        known: known_branches(repo),
    })
}

/// Local branches (remote-tracking ones when there are none), sorted, at most ten: enough to
/// spot a typo without flooding the message.
pub(super) fn known_branches(repo: &Repository) -> String {
    const SHOWN: usize = 10;
    let mut names = branch_names(repo, BranchType::Local);
    if names.is_empty() {
        names = branch_names(repo, BranchType::Remote);
    }
    names.sort();
    names.dedup();
    if names.is_empty() {
        return "none".to_string();
    }
    let more = names.len().saturating_sub(SHOWN);
    names.truncate(SHOWN);
    let mut list = names.join(", ");
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    list
}

pub(super) fn branch_names(repo: &Repository, kind: BranchType) -> Vec<String> {
    let Ok(branches) = repo.branches(Some(kind)) else {
        return Vec::new();
    };
    branches
        .filter_map(Result::ok)
        .filter_map(|(branch, _)| branch.name().ok().flatten().map(str::to_string))
        .filter(|name| !name.ends_with("/HEAD"))
        .collect()
}

/// The branch `HEAD` points to (`HEAD` itself when detached).
pub(super) fn head_branch(repo: &Repository) -> String {
    repo.find_reference("HEAD")
        .ok()
        .and_then(|head| {
            head.symbolic_target().ok().flatten().map(|target| {
                target
                    .strip_prefix("refs/heads/")
                    .unwrap_or(target)
                    .to_string()
            })
        })
        .unwrap_or_else(|| "HEAD".to_string())
}

pub(super) fn summary(commit: &Commit<'_>) -> Option<String> {
    commit
        .summary_bytes()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
}

pub(super) fn worktree_revision(repo: &Repository, display: &str) -> Result<Revision, SourceError> {
    let (commit, summary) = match repo.head() {
        Ok(head) => {
            let commit = head
                .peel_to_commit()
                .map_err(|e| git_error("reading HEAD", display, &e))?;
            (Some(commit.id().to_string()), summary(&commit))
        }
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => (None, None),
        Err(e) => return Err(git_error("reading HEAD", display, &e)),
    };
    let mut options = StatusOptions::new();
    // New files count (they are read too), ignored ones do not; one entry per new directory
    // is enough to know.
    options
        .include_untracked(true)
        .include_ignored(false)
        .recurse_untracked_dirs(false);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(|e| git_error("comparing the worktree with HEAD", display, &e))?;
    let dirty = statuses
        .iter()
        .any(|entry| !entry.status().is_ignored() && !entry.status().is_empty());
    Ok(Revision {
        commit,
        reference: head_branch(repo),
        dirty,
        summary,
        worktree: true,
    })
}

pub(super) fn git_error(action: &'static str, display: &str, error: &git2::Error) -> SourceError {
    SourceError::Git {
        action,
        repo: display.to_string(),
        message: error.message().to_string(),
    }
}
