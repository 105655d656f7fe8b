//! Where settings files come from: a Git repository read at a reference straight from its
//! object database (no checkout, so the user's working copy is never touched), or, with
//! `worktree`, the uncommitted files of a local checkout.
//!
//! Remote repositories are kept as bare mirrors in a cache directory, one per URL, and fetched
//! on every [`Source::open`] and [`Source::refresh`].

use std::cell::Cell;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use git2::build::RepoBuilder;
use git2::{
    AutotagOption, BranchType, Commit, Cred, CredentialType, ErrorCode, FetchOptions, FetchPrune,
    FileMode, ObjectType, Odb, Oid, RemoteCallbacks, Repository, StatusOptions,
};
use spa_schema::{FileError, FileProvider, MAX_FILE_SIZE};

/// How many symbolic links one [`FileProvider::read`] follows before giving up (a loop).
const MAX_SYMLINK_HOPS: u32 = 8;

/// A symbolic link's target is a path; anything longer is corrupt or hostile.
const MAX_SYMLINK_TARGET: usize = 4096;

/// libgit2 calls the credentials callback again after every rejected credential; without a
/// limit a wrong token loops forever.
const MAX_AUTH_ATTEMPTS: u32 = 3;

/// Refspecs of a bare mirror: remote branches and tags land under the same names locally, so
/// `main` and `v1.2` resolve in the mirror exactly as in the remote.
const MIRROR_REFSPECS: [&str; 2] = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// Environment variables holding a token for https remotes, in order of preference.
const TOKEN_VARIABLES: [&str; 2] = ["SPA_GIT_TOKEN", "GITHUB_TOKEN"];

/// Username sent with a token when the URL names none (GitHub's convention; GitLab and
/// others accept any username with a token).
const TOKEN_USERNAME: &str = "x-access-token";

/// Where to read the settings repository from.
#[derive(Clone, Default)]
pub struct SourceOptions {
    /// A local path (the root of a working copy, or a bare repository) or a URL:
    /// `https://`, `ssh://`, `git@host:path` or `file://`.
    pub repo: String,
    /// A branch, tag, commit id (full or short) or any Git revspec. `None` reads `HEAD`: the
    /// checked-out commit of a local repository, the default branch of a remote one.
    pub reference: Option<String>,
    /// Read the files on disk of a local checkout, uncommitted edits included, instead of a
    /// commit. Cannot be combined with `reference` nor used with a URL or a bare repository.
    pub worktree: bool,
    /// Where remote repositories are mirrored. Default: `$XDG_CACHE_HOME/spa/repos`, else
    /// `~/.cache/spa/repos`.
    pub cache_dir: Option<PathBuf>,
}

// By hand rather than derived: `repo` may be a URL with a token in it.
impl fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceOptions")
            .field("repo", &redact_url(&self.repo))
            .field("reference", &self.reference)
            .field("worktree", &self.worktree)
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

/// Which version of the settings a [`Source`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The full 40-hex commit id. In worktree mode, the `HEAD` commit the files on disk are
    /// based on (`None` when the repository has no commit yet).
    pub commit: Option<String>,
    /// What the user asked for (`main`, `HEAD`, `v1.2`); in worktree mode, the checked-out
    /// branch (`HEAD` when detached).
    pub reference: String,
    /// Worktree mode only: the files on disk differ from `HEAD` (edits, or new files that are
    /// not ignored).
    pub dirty: bool,
    /// The first line of the commit message.
    pub summary: Option<String>,
    /// The files are read from a working copy on disk, not from a commit.
    pub worktree: bool,
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.worktree {
            write!(f, "worktree of {}", self.reference)?;
        } else {
            write!(f, "{}", self.reference)?;
        }
        match &self.commit {
            Some(commit) => write!(f, " @ {}", &commit[..commit.len().min(12)])?,
            None => write!(f, " (no commit yet)")?,
        }
        if self.dirty {
            write!(f, " (uncommitted changes)")?;
        }
        Ok(())
    }
}

/// Why a settings repository could not be opened or refreshed. Messages never contain a
/// token: URLs are shown without their user information.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "`{path}` does not exist: give the root of a settings repository (a working copy or a bare repository) or a URL"
    )]
    PathNotFound { path: String },
    #[error(
        "`{path}` is not a Git repository ({message}): give the root of a working copy, a bare repository or a URL"
    )]
    NotARepository { path: String, message: String },
    #[error(
        "`{path}` is inside the Git repository at `{root}`, not its root: give `{root}` instead"
    )]
    NotRepositoryRoot { path: String, root: String },
    #[error(
        "reference `{reference}` not found in {repo} (known branches: {known}): give a branch, a tag or a commit id"
    )]
    ReferenceNotFound {
        reference: String,
        repo: String,
        known: String,
    },
    #[error(
        "reference `{reference}` in {repo} is a {kind}, not a commit: give a branch, a tag or a commit id"
    )]
    NotACommit {
        reference: String,
        repo: String,
        kind: String,
    },
    #[error("reference `{reference}` in {repo} is invalid: {message}")]
    InvalidReference {
        reference: String,
        repo: String,
        message: String,
    },
    #[error(
        "{repo} has no commits yet: commit the settings, or read the uncommitted files with the worktree option"
    )]
    EmptyRepository { repo: String },
    #[error(
        "HEAD of {repo} points to branch `{branch}`, which has no commits: give a reference (known branches: {known})"
    )]
    UnbornHead {
        repo: String,
        branch: String,
        known: String,
    },
    #[error(
        "the worktree option reads the files of a local checkout, but {repo} is a URL: clone it and give the local path"
    )]
    WorktreeOfRemote { repo: String },
    #[error(
        "the worktree option reads the files of a checkout, but {repo} is a bare repository: give a working copy, or drop the worktree option"
    )]
    WorktreeOfBare { repo: String },
    #[error(
        "the worktree option reads the files on disk of {repo}, so it cannot be combined with reference `{reference}`: drop one of them"
    )]
    WorktreeWithReference { repo: String, reference: String },
    #[error(
        "no cache directory for remote repositories: set XDG_CACHE_HOME or HOME, or give a cache directory"
    )]
    NoCacheDir,
    #[error("cannot use the repository cache at `{path}`: {source}; give another cache directory")]
    CacheDir {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "the cached mirror of {repo} at `{path}` cannot be opened ({message}): delete that directory and try again"
    )]
    CorruptCache {
        repo: String,
        path: String,
        message: String,
    },
    #[error(
        "authentication failed for {url}: set SPA_GIT_TOKEN (or GITHUB_TOKEN) to a token that can read the repository for https URLs, or load a key into ssh-agent for ssh URLs"
    )]
    Authentication { url: String },
    #[error("cannot clone {url}: {message}; check the URL and the network")]
    Clone { url: String, message: String },
    #[error(
        "cannot fetch {url} into `{path}`: {message}; check the network, or delete that directory to clone again"
    )]
    Fetch {
        url: String,
        path: String,
        message: String,
    },
    #[error("Git error while {action} in {repo}: {message}")]
    Git {
        action: &'static str,
        repo: String,
        message: String,
    },
}

/// The files of one settings repository at one revision. Holds a [`git2::Repository`], so it
/// is `Send` but not `Sync`: share it between threads behind a `Mutex`, or open one per thread.
pub struct Source {
    repo: Repository,
    origin: Origin,
    mode: Mode,
    requested: Option<String>,
    revision: Revision,
}

/// Where the repository lives.
enum Origin {
    Local {
        display: String,
    },
    Remote {
        /// As given, possibly with credentials: only ever handed to libgit2.
        url: String,
        /// Without credentials: for messages and logs.
        display: String,
        mirror: PathBuf,
    },
}

impl Origin {
    fn display(&self) -> &str {
        match self {
            Origin::Local { display } | Origin::Remote { display, .. } => display,
        }
    }
}

/// What [`FileProvider::read`] reads from.
enum Mode {
    /// The tree of the resolved commit (an id rather than a `git2::Tree`, which would borrow
    /// the repository held next to it).
    Commit { tree: Oid },
    /// The working directory, canonicalised so symbolic links can be checked against it.
    Worktree { root: PathBuf },
}

impl Source {
    /// Opens the repository and resolves the reference. A remote repository is cloned into
    /// the cache on first use and fetched on later uses, so this touches the network.
    pub fn open(options: &SourceOptions) -> Result<Source, SourceError> {
        match classify(&options.repo) {
            Location::Local(path) => open_local_source(options, &path),
            Location::Remote(url) => open_remote_source(options, url),
        }
    }

    /// The revision being read.
    pub fn revision(&self) -> &Revision {
        &self.revision
    }

    /// The repository as given, with any credentials removed from a URL: safe to print.
    pub fn origin(&self) -> &str {
        self.origin.display()
    }

    /// Fetches a remote repository again and re-resolves the reference (a local repository is
    /// only re-resolved; in worktree mode `HEAD` and `dirty` are recomputed). Returns true when
    /// the commit changed. On error the source keeps reading the previous revision.
    pub fn refresh(&mut self) -> Result<bool, SourceError> {
        let before = self.revision.commit.clone();
        if let Origin::Remote {
            url,
            display,
            mirror,
        } = &self.origin
        {
            fetch_mirror(&self.repo, url, display, mirror)?;
        }
        match &mut self.mode {
            Mode::Worktree { .. } => {
                self.revision = worktree_revision(&self.repo, self.origin.display())?;
            }
            Mode::Commit { tree } => {
                let mirror = matches!(self.origin, Origin::Remote { .. });
                let (new_tree, revision) = resolve(
                    &self.repo,
                    self.requested.as_deref(),
                    mirror,
                    self.origin.display(),
                )?;
                *tree = new_tree;
                self.revision = revision;
            }
        }
        Ok(self.revision.commit != before)
    }
}

impl FileProvider for Source {
    fn read(&self, path: &str) -> Result<Vec<u8>, FileError> {
        // Tree lookups take C strings: a NUL cannot be in a Git path anyway.
        if path.contains('\0') {
            return Err(FileError::NotFound);
        }
        match &self.mode {
            Mode::Commit { tree } => read_in_tree(&self.repo, *tree, path),
            Mode::Worktree { root } => read_in_worktree(root, path),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Opening

enum Location<'a> {
    Local(PathBuf),
    Remote(&'a str),
}

/// Tells a URL from a local path the way Git does: a scheme, or a colon with no slash before
/// it (`git@host:path`), makes a URL; write `./a:b` for a local directory named `a:b`.
fn classify(repo: &str) -> Location<'_> {
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

fn open_local_source(options: &SourceOptions, path: &Path) -> Result<Source, SourceError> {
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
fn open_local(path: &Path, display: &str) -> Result<Repository, SourceError> {
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

fn open_remote_source(options: &SourceOptions, url: &str) -> Result<Source, SourceError> {
    let display = redact_url(url);
    if options.worktree {
        return Err(SourceError::WorktreeOfRemote { repo: display });
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

// ---------------------------------------------------------------------------------------------
// Resolving a reference

/// Resolves `requested` (`None` = `HEAD`) to a commit; returns its tree and the revision.
fn resolve(
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

fn resolve_head<'r>(repo: &'r Repository, display: &str) -> Result<Commit<'r>, SourceError> {
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
fn resolve_name<'r>(
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
fn known_branches(repo: &Repository) -> String {
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

fn branch_names(repo: &Repository, kind: BranchType) -> Vec<String> {
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
fn head_branch(repo: &Repository) -> String {
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

fn summary(commit: &Commit<'_>) -> Option<String> {
    commit
        .summary_bytes()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
}

fn worktree_revision(repo: &Repository, display: &str) -> Result<Revision, SourceError> {
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

fn git_error(action: &'static str, display: &str, error: &git2::Error) -> SourceError {
    SourceError::Git {
        action,
        repo: display.to_string(),
        message: error.message().to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading at a commit

fn other(error: &git2::Error) -> FileError {
    FileError::Other(error.message().to_string())
}

/// Walks `path` one component at a time from the root tree, so a symbolic link anywhere on
/// the way (a linked directory too) is resolved inside the tree, never on disk.
fn read_in_tree(repo: &Repository, root: Oid, path: &str) -> Result<Vec<u8>, FileError> {
    let root = repo.find_tree(root).map_err(|e| other(&e))?;
    let odb = repo.odb().map_err(|e| other(&e))?;
    let link_mode = i32::from(FileMode::Link);
    let mut components: Vec<String> = split_path(path);
    let mut hops = 0;
    'walk: loop {
        let mut tree = root.clone();
        for index in 0..components.len() {
            let last = index + 1 == components.len();
            let (id, mode, kind) = match tree.get_name(&components[index]) {
                Some(entry) => (entry.id(), entry.filemode(), entry.kind()),
                None => return Err(FileError::NotFound),
            };
            if mode == link_mode {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(FileError::Other(format!(
                        "more than {MAX_SYMLINK_HOPS} symbolic links to follow: is there a loop?"
                    )));
                }
                let target = read_link_target(repo, &odb, id)?;
                let Some(mut resolved) = resolve_link(&components[..index], &target) else {
                    return Err(FileError::EscapesRepository { target });
                };
                resolved.extend_from_slice(&components[index + 1..]);
                components = resolved;
                continue 'walk;
            }
            match kind {
                Some(ObjectType::Tree) if last => return Err(FileError::NotAFile),
                Some(ObjectType::Tree) => tree = repo.find_tree(id).map_err(|e| other(&e))?,
                Some(ObjectType::Commit) if last => return Err(FileError::NotAFile),
                Some(ObjectType::Commit) => {
                    return Err(FileError::Other(format!(
                        "`{}` is a submodule: spa does not read files inside submodules",
                        components[..=index].join("/")
                    )));
                }
                // A file used as a directory, like ENOTDIR on disk.
                Some(ObjectType::Blob) if !last => return Err(FileError::NotFound),
                Some(ObjectType::Blob) => return read_blob(repo, &odb, id),
                _ => return Err(FileError::NotAFile),
            }
        }
        // No component left: the path (or a link) names the root directory.
        return Err(FileError::NotAFile);
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

/// Reads a blob after checking its size in the object header, which costs no inflating.
fn read_blob(repo: &Repository, odb: &Odb<'_>, id: Oid) -> Result<Vec<u8>, FileError> {
    let (size, _) = odb.read_header(id).map_err(|e| other(&e))?;
    let size = size as u64;
    if size > MAX_FILE_SIZE {
        return Err(FileError::TooLarge { size });
    }
    let blob = repo.find_blob(id).map_err(|e| other(&e))?;
    Ok(blob.content().to_vec())
}

fn read_link_target(repo: &Repository, odb: &Odb<'_>, id: Oid) -> Result<String, FileError> {
    let (size, _) = odb.read_header(id).map_err(|e| other(&e))?;
    if size > MAX_SYMLINK_TARGET {
        return Err(FileError::Other(format!(
            "symbolic link target of {size} bytes: not a path"
        )));
    }
    let blob = repo.find_blob(id).map_err(|e| other(&e))?;
    String::from_utf8(blob.content().to_vec())
        .map_err(|_| FileError::Other("symbolic link target is not UTF-8".to_string()))
}

/// Resolves a link's `target` against the components of its directory; `None` when the
/// result leaves the repository: absolute (Unix or Windows style) or too many `..`.
fn resolve_link(directory: &[String], target: &str) -> Option<Vec<String>> {
    let windows_drive = target.len() >= 2
        && target.as_bytes()[1] == b':'
        && target.as_bytes()[0].is_ascii_alphabetic();
    if target.starts_with('/') || target.starts_with('\\') || windows_drive {
        return None;
    }
    let mut resolved = directory.to_vec();
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                resolved.pop()?;
            }
            name => resolved.push(name.to_string()),
        }
    }
    Some(resolved)
}

// ---------------------------------------------------------------------------------------------
// Reading a worktree

fn read_in_worktree(root: &Path, path: &str) -> Result<Vec<u8>, FileError> {
    let components = split_path(path);
    if components.is_empty() {
        return Err(FileError::NotAFile);
    }
    let mut full = root.to_path_buf();
    full.extend(&components);
    // canonicalize resolves every link on the way, directories included.
    let canonical = match fs::canonicalize(&full) {
        Ok(canonical) => canonical,
        Err(e) if is_not_found(&e) => return Err(FileError::NotFound),
        Err(e) => return Err(FileError::Other(format!("{path}: {e}"))),
    };
    let Ok(relative) = canonical.strip_prefix(root) else {
        return Err(FileError::EscapesRepository {
            target: escaping_link(root, &components)
                .unwrap_or_else(|| canonical.display().to_string()),
        });
    };
    // Git's own files are not settings (and never in a commit's tree either).
    if relative
        .components()
        .any(|c| matches!(c, Component::Normal(name) if name.eq_ignore_ascii_case(".git")))
    {
        return Err(FileError::NotFound);
    }
    let metadata =
        fs::metadata(&canonical).map_err(|e| FileError::Other(format!("{path}: {e}")))?;
    // Not only directories: reading a FIFO or a device would block or never end.
    if !metadata.is_file() {
        return Err(FileError::NotAFile);
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(FileError::TooLarge {
            size: metadata.len(),
        });
    }
    let file = fs::File::open(&canonical).map_err(|e| FileError::Other(format!("{path}: {e}")))?;
    // The file may grow between the size check and the read.
    let mut content = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut content)
        .map_err(|e| FileError::Other(format!("{path}: {e}")))?;
    if content.len() as u64 > MAX_FILE_SIZE {
        return Err(FileError::TooLarge {
            size: content.len() as u64,
        });
    }
    Ok(content)
}

fn is_not_found(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// The target text of the first link on the path that resolves outside `root`, to name it in
/// the error.
fn escaping_link(root: &Path, components: &[String]) -> Option<String> {
    let mut current = root.to_path_buf();
    for component in components {
        current.push(component);
        let is_link = fs::symlink_metadata(&current)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if is_link {
            let outside = fs::canonicalize(&current).map_or(true, |c| !c.starts_with(root));
            if outside {
                return fs::read_link(&current)
                    .ok()
                    .map(|target| target.display().to_string());
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Remote mirrors

/// `$XDG_CACHE_HOME/spa/repos` (the spec says to ignore a relative value), else
/// `$HOME/.cache/spa/repos`.
fn default_cache_dir(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
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
fn cache_dir_name(url: &str) -> String {
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
fn fnv1a(bytes: &[u8]) -> u64 {
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
fn open_mirror(url: &str, display: &str, mirror: &Path) -> Result<Repository, SourceError> {
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

fn open_cached(mirror: &Path, display: &str) -> Result<Repository, SourceError> {
    Repository::open_bare(mirror).map_err(|e| SourceError::CorruptCache {
        repo: display.to_string(),
        path: mirror.display().to_string(),
        message: e.message().to_string(),
    })
}

fn clone_mirror(url: &str, display: &str, into: &Path) -> Result<(), SourceError> {
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
        if auth.failed(&e) {
            SourceError::Authentication {
                url: display.to_string(),
            }
        } else {
            SourceError::Clone {
                url: display.to_string(),
                message: scrub(e.message(), url, display),
            }
        }
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

fn fetch_mirror(
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
            if auth.failed(&e) {
                SourceError::Authentication {
                    url: display.to_string(),
                }
            } else {
                SourceError::Fetch {
                    url: display.to_string(),
                    path: mirror.display().to_string(),
                    message: scrub(e.message(), url, display),
                }
            }
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

/// What the credentials callback did, to tell an authentication failure from others.
#[derive(Default)]
struct AuthState {
    attempts: Cell<u32>,
    refused: Cell<bool>,
}

impl AuthState {
    fn failed(&self, error: &git2::Error) -> bool {
        self.refused.get() || error.code() == ErrorCode::Auth
    }
}

fn fetch_options(auth: &AuthState) -> FetchOptions<'_> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |_url, username_from_url, allowed| {
        credentials(auth, username_from_url, allowed, token)
    });
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks);
    options
}

/// The credentials callback. libgit2 calls it again after each rejection, so it counts.
fn credentials(
    auth: &AuthState,
    username_from_url: Option<&str>,
    allowed: CredentialType,
    token: impl FnOnce() -> Option<String>,
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
    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
        && let Some(token) = token()
    {
        return Cred::userpass_plaintext(username_from_url.unwrap_or(TOKEN_USERNAME), &token);
    }
    auth.refused.set(true);
    Err(git2::Error::from_str("no usable credentials"))
}

/// Read at every fetch, so a rotated token is picked up by a long-running controller.
fn token() -> Option<String> {
    TOKEN_VARIABLES
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
}

/// Defence in depth for libgit2 messages that could quote the URL or the token.
fn scrub(message: &str, url: &str, display: &str) -> String {
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
    use git2::build::CheckoutBuilder;
    use git2::{RepositoryInitOptions, Signature};
    use std::collections::BTreeMap;

    enum Entry<'a> {
        File(&'a [u8]),
        Link(&'a str),
    }
    use Entry::{File, Link};

    enum Node {
        Leaf(Oid, i32),
        Dir(BTreeMap<String, Node>),
    }

    fn init(dir: &Path, bare: bool) -> Repository {
        let mut options = RepositoryInitOptions::new();
        options.bare(bare).initial_head("main");
        Repository::init_opts(dir, &options).unwrap()
    }

    fn write_tree(repo: &Repository, dir: &BTreeMap<String, Node>) -> Oid {
        let mut builder = repo.treebuilder(None).unwrap();
        for (name, node) in dir {
            match node {
                Node::Leaf(id, mode) => builder.insert(name, *id, *mode).unwrap(),
                Node::Dir(children) => builder
                    .insert(name, write_tree(repo, children), 0o040000)
                    .unwrap(),
            };
        }
        builder.write().unwrap()
    }

    /// Commits exactly `files` (a full snapshot) on top of HEAD, without touching the disk.
    fn commit(repo: &Repository, files: &[(&str, Entry<'_>)], message: &str) -> Oid {
        let mut root = BTreeMap::new();
        for (path, entry) in files {
            let (id, mode) = match entry {
                File(content) => (repo.blob(content).unwrap(), 0o100644),
                Link(target) => (repo.blob(target.as_bytes()).unwrap(), 0o120000),
            };
            let parts: Vec<&str> = path.split('/').collect();
            let mut dir = &mut root;
            for part in &parts[..parts.len() - 1] {
                let node = dir
                    .entry((*part).to_string())
                    .or_insert_with(|| Node::Dir(BTreeMap::new()));
                let Node::Dir(children) = node else {
                    panic!("{part} is a file")
                };
                dir = children;
            }
            dir.insert(parts[parts.len() - 1].to_string(), Node::Leaf(id, mode));
        }
        let tree = repo.find_tree(write_tree(repo, &root)).unwrap();
        let signature = Signature::now("spa test", "test@example.invalid").unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&Commit<'_>> = parent.iter().collect();
        repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )
        .unwrap()
    }

    fn local(path: &Path, reference: Option<&str>) -> SourceOptions {
        SourceOptions {
            repo: path.display().to_string(),
            reference: reference.map(str::to_string),
            ..SourceOptions::default()
        }
    }

    fn read(source: &Source, path: &str) -> Result<String, FileError> {
        source
            .read(path)
            .map(|bytes| String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn reads_each_commit_content() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        let first = commit(&repo, &[("spa.yaml", File(b"one"))], "first");
        let second = commit(&repo, &[("spa.yaml", File(b"two"))], "second\n\nbody");

        let source = Source::open(&local(dir.path(), Some(&first.to_string()))).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "one");
        assert_eq!(source.revision().commit, Some(first.to_string()));

        let source = Source::open(&local(dir.path(), None)).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "two");
        let revision = source.revision();
        assert_eq!(revision.commit, Some(second.to_string()));
        assert_eq!(revision.reference, "HEAD");
        assert_eq!(revision.summary.as_deref(), Some("second"));
        assert!(!revision.dirty);
        assert_eq!(
            revision.to_string(),
            format!("HEAD @ {}", &second.to_string()[..12])
        );
    }

    #[test]
    fn resolves_branch_tag_and_short_id() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        let first = commit(&repo, &[("spa.yaml", File(b"one"))], "first");
        commit(&repo, &[("spa.yaml", File(b"two"))], "second");
        let first_commit = repo.find_commit(first).unwrap();
        repo.branch("dev", &first_commit, false).unwrap();
        repo.tag_lightweight("v1", first_commit.as_object(), false)
            .unwrap();
        let signature = Signature::now("spa test", "test@example.invalid").unwrap();
        repo.tag(
            "v1-annotated",
            first_commit.as_object(),
            &signature,
            "v1",
            false,
        )
        .unwrap();
        let short = &first.to_string()[..7];

        for reference in ["dev", "v1", "v1-annotated", short, "main~1"] {
            let source = Source::open(&local(dir.path(), Some(reference))).unwrap();
            assert_eq!(read(&source, "spa.yaml").unwrap(), "one", "{reference}");
            assert_eq!(source.revision().commit, Some(first.to_string()));
            assert_eq!(source.revision().reference, reference);
        }
        let source = Source::open(&local(dir.path(), Some("main"))).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "two");
    }

    #[test]
    fn unknown_reference_names_known_branches() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        let id = commit(&repo, &[("spa.yaml", File(b"one"))], "first");
        repo.branch("dev", &repo.find_commit(id).unwrap(), false)
            .unwrap();

        let error = Source::open(&local(dir.path(), Some("maine")))
            .err()
            .unwrap();
        assert!(matches!(error, SourceError::ReferenceNotFound { .. }));
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "reference `maine` not found in {} (known branches: dev, main)",
                dir.path().display()
            )),
            "{message}"
        );
    }

    #[test]
    fn empty_repository_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), false);
        let error = Source::open(&local(dir.path(), None)).err().unwrap();
        assert!(
            matches!(error, SourceError::EmptyRepository { .. }),
            "{error}"
        );
    }

    #[test]
    fn missing_file_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        commit(
            &repo,
            &[("accounts/main.yaml", File(b"x")), ("spa.yaml", File(b"y"))],
            "first",
        );
        let source = Source::open(&local(dir.path(), None)).unwrap();
        assert_eq!(read(&source, "accounts/main.yaml").unwrap(), "x");
        assert_eq!(read(&source, "nope.yaml"), Err(FileError::NotFound));
        assert_eq!(
            read(&source, "accounts/nope.yaml"),
            Err(FileError::NotFound)
        );
        assert_eq!(read(&source, "spa.yaml/below"), Err(FileError::NotFound));
        assert_eq!(read(&source, "accounts"), Err(FileError::NotAFile));
        assert_eq!(read(&source, ""), Err(FileError::NotAFile));
        assert_eq!(read(&source, "a\0b"), Err(FileError::NotFound));
    }

    #[test]
    fn large_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        let big = vec![b'x'; 9 * 1024 * 1024];
        commit(&repo, &[("big.csv", File(&big))], "big");
        let source = Source::open(&local(dir.path(), None)).unwrap();
        assert_eq!(
            source.read("big.csv"),
            Err(FileError::TooLarge {
                size: 9 * 1024 * 1024
            })
        );
    }

    #[test]
    fn symbolic_links_in_commits() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        commit(
            &repo,
            &[
                ("real/spa.yaml", File(b"real")),
                ("spa.yaml", Link("real/spa.yaml")),
                ("linked", Link("real")),
                ("nested/up.yaml", Link("../real/./spa.yaml")),
                ("outside", Link("../outside")),
                ("nested/outside", Link("../../outside")),
                ("absolute", Link("/etc/passwd")),
                ("loop-a", Link("loop-b")),
                ("loop-b", Link("loop-a")),
                ("dangling", Link("missing")),
                ("root", Link(".")),
            ],
            "links",
        );
        let source = Source::open(&local(dir.path(), None)).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "real");
        assert_eq!(read(&source, "linked/spa.yaml").unwrap(), "real");
        assert_eq!(read(&source, "nested/up.yaml").unwrap(), "real");
        assert_eq!(
            read(&source, "outside"),
            Err(FileError::EscapesRepository {
                target: "../outside".to_string()
            })
        );
        assert_eq!(
            read(&source, "nested/outside"),
            Err(FileError::EscapesRepository {
                target: "../../outside".to_string()
            })
        );
        assert!(matches!(
            read(&source, "absolute"),
            Err(FileError::EscapesRepository { .. })
        ));
        assert!(matches!(read(&source, "loop-a"), Err(FileError::Other(_))));
        assert_eq!(read(&source, "dangling"), Err(FileError::NotFound));
        assert_eq!(read(&source, "linked"), Err(FileError::NotAFile));
        assert_eq!(read(&source, "root"), Err(FileError::NotAFile));
        assert_eq!(read(&source, "root/real/spa.yaml").unwrap(), "real");
    }

    #[test]
    fn resolve_link_stays_inside() {
        let dir = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(resolve_link(&dir(&["a"]), "../b"), Some(dir(&["b"])));
        assert_eq!(resolve_link(&dir(&["a"]), "../../b"), None);
        assert_eq!(resolve_link(&dir(&[]), "C:/x"), None);
        assert_eq!(resolve_link(&dir(&[]), "\\x"), None);
        assert_eq!(
            resolve_link(&dir(&["a", "b"]), "./c//d"),
            Some(dir(&["a", "b", "c", "d"]))
        );
    }

    #[test]
    fn bare_repository() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), true);
        commit(&repo, &[("spa.yaml", File(b"bare"))], "first");
        let source = Source::open(&local(dir.path(), Some("main"))).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "bare");

        let error = Source::open(&SourceOptions {
            worktree: true,
            ..local(dir.path(), None)
        })
        .err()
        .unwrap();
        assert!(
            matches!(error, SourceError::WorktreeOfBare { .. }),
            "{error}"
        );
    }

    #[test]
    fn worktree_sees_uncommitted_edits() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        let id = commit(&repo, &[("spa.yaml", File(b"committed"))], "first");
        repo.checkout_head(Some(CheckoutBuilder::new().force()))
            .unwrap();
        let options = SourceOptions {
            worktree: true,
            ..local(dir.path(), None)
        };

        let mut source = Source::open(&options).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "committed");
        assert!(!source.revision().dirty);
        assert_eq!(source.revision().commit, Some(id.to_string()));
        assert_eq!(
            source.revision().to_string(),
            format!("worktree of main @ {}", &id.to_string()[..12])
        );

        fs::write(dir.path().join("spa.yaml"), "edited").unwrap();
        // Same HEAD commit: refresh reports no change, but recomputes `dirty`.
        assert!(!source.refresh().unwrap());
        assert!(source.revision().dirty);
        assert_eq!(read(&source, "spa.yaml").unwrap(), "edited");
        assert_eq!(
            source.revision().to_string(),
            format!(
                "worktree of main @ {} (uncommitted changes)",
                &id.to_string()[..12]
            )
        );

        fs::write(dir.path().join("spa.yaml"), "committed").unwrap();
        fs::write(dir.path().join(".gitignore"), "*.log\n.gitignore\n").unwrap();
        fs::write(dir.path().join("debug.log"), "noise").unwrap();
        // Ignored files do not make the worktree dirty.
        let source = Source::open(&options).unwrap();
        assert!(!source.revision().dirty);

        fs::create_dir(dir.path().join("accounts")).unwrap();
        assert_eq!(read(&source, "accounts"), Err(FileError::NotAFile));
        assert_eq!(read(&source, "missing.yaml"), Err(FileError::NotFound));
        assert_eq!(read(&source, "spa.yaml/below"), Err(FileError::NotFound));
        assert_eq!(read(&source, ".git/config"), Err(FileError::NotFound));
    }

    #[test]
    fn worktree_of_unborn_repository() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), false);
        fs::write(dir.path().join("spa.yaml"), "new").unwrap();
        let source = Source::open(&SourceOptions {
            worktree: true,
            ..local(dir.path(), None)
        })
        .unwrap();
        assert_eq!(source.revision().commit, None);
        assert!(source.revision().dirty);
        assert_eq!(read(&source, "spa.yaml").unwrap(), "new");
        assert_eq!(
            source.revision().to_string(),
            "worktree of main (no commit yet) (uncommitted changes)"
        );
    }

    #[test]
    fn worktree_rejects_reference() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), false);
        let error = Source::open(&SourceOptions {
            worktree: true,
            ..local(dir.path(), Some("main"))
        })
        .err()
        .unwrap();
        assert!(matches!(error, SourceError::WorktreeWithReference { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn worktree_symbolic_links() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), false);
        fs::create_dir(dir.path().join("real")).unwrap();
        fs::write(dir.path().join("real/spa.yaml"), "real").unwrap();
        symlink("real/spa.yaml", dir.path().join("spa.yaml")).unwrap();
        symlink("real", dir.path().join("linked")).unwrap();
        let secret = outside.path().join("secret");
        symlink(&secret, dir.path().join("escape")).unwrap();
        symlink(outside.path(), dir.path().join("escape-dir")).unwrap();

        let source = Source::open(&SourceOptions {
            worktree: true,
            ..local(dir.path(), None)
        })
        .unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "real");
        assert_eq!(read(&source, "linked/spa.yaml").unwrap(), "real");
        assert_eq!(
            read(&source, "escape"),
            Err(FileError::EscapesRepository {
                target: secret.display().to_string()
            })
        );
        assert_eq!(
            read(&source, "escape-dir/secret"),
            Err(FileError::EscapesRepository {
                target: outside.path().display().to_string()
            })
        );
    }

    #[test]
    fn worktree_large_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), false);
        let file = fs::File::create(dir.path().join("big.csv")).unwrap();
        // Sparse: no 9 MB written.
        file.set_len(9 * 1024 * 1024).unwrap();
        let source = Source::open(&SourceOptions {
            worktree: true,
            ..local(dir.path(), None)
        })
        .unwrap();
        assert_eq!(
            source.read("big.csv"),
            Err(FileError::TooLarge {
                size: 9 * 1024 * 1024
            })
        );
    }

    #[test]
    fn subdirectory_names_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        commit(&repo, &[("spa.yaml", File(b"x"))], "first");
        fs::create_dir(dir.path().join("settings")).unwrap();
        let error = Source::open(&local(&dir.path().join("settings"), None))
            .err()
            .unwrap();
        let SourceError::NotRepositoryRoot { root, .. } = &error else {
            panic!("{error}")
        };
        assert_eq!(
            fs::canonicalize(root).unwrap(),
            fs::canonicalize(dir.path()).unwrap()
        );
        assert!(
            error
                .to_string()
                .contains(&format!("give `{root}` instead"))
        );

        let error = Source::open(&local(&dir.path().join("missing"), None))
            .err()
            .unwrap();
        assert!(matches!(error, SourceError::PathNotFound { .. }), "{error}");
    }

    #[test]
    fn not_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let error = Source::open(&local(dir.path(), None)).err().unwrap();
        // A temporary directory may itself sit inside a repository on some machines.
        assert!(
            matches!(
                error,
                SourceError::NotARepository { .. } | SourceError::NotRepositoryRoot { .. }
            ),
            "{error}"
        );
    }

    #[test]
    fn file_url_is_mirrored_and_refreshed() {
        let upstream_dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let upstream = init(upstream_dir.path(), false);
        let first = commit(&upstream, &[("spa.yaml", File(b"one"))], "first");
        upstream
            .tag_lightweight("v1", &upstream.find_object(first, None).unwrap(), false)
            .unwrap();
        let url = format!("file://{}", upstream_dir.path().display());
        let options = SourceOptions {
            repo: url.clone(),
            cache_dir: Some(cache.path().to_path_buf()),
            ..SourceOptions::default()
        };

        let mut source = Source::open(&options).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "one");
        assert_eq!(source.revision().commit, Some(first.to_string()));
        assert_eq!(source.origin(), url);
        let entries: Vec<String> = fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries, vec![cache_dir_name(&url)]);

        let second = commit(&upstream, &[("spa.yaml", File(b"two"))], "second");
        assert!(source.refresh().unwrap());
        assert_eq!(read(&source, "spa.yaml").unwrap(), "two");
        assert_eq!(source.revision().commit, Some(second.to_string()));
        assert!(!source.refresh().unwrap());

        // An existing mirror is fetched, and branches, tags and `origin/` names resolve.
        upstream
            .branch("dev", &upstream.find_commit(first).unwrap(), false)
            .unwrap();
        for (reference, expected) in [
            ("main", "two"),
            ("origin/main", "two"),
            ("v1", "one"),
            ("dev", "one"),
        ] {
            let source = Source::open(&SourceOptions {
                reference: Some(reference.to_string()),
                ..options.clone()
            })
            .unwrap();
            assert_eq!(read(&source, "spa.yaml").unwrap(), expected, "{reference}");
        }

        // A branch deleted upstream stops resolving.
        upstream
            .find_branch("dev", BranchType::Local)
            .unwrap()
            .delete()
            .unwrap();
        let mut source = Source::open(&SourceOptions {
            reference: Some("main".to_string()),
            ..options.clone()
        })
        .unwrap();
        source.refresh().unwrap();
        let error = Source::open(&SourceOptions {
            reference: Some("dev".to_string()),
            ..options.clone()
        })
        .err()
        .unwrap();
        assert!(
            matches!(error, SourceError::ReferenceNotFound { .. }),
            "{error}"
        );

        let error = Source::open(&SourceOptions {
            worktree: true,
            ..options.clone()
        })
        .err()
        .unwrap();
        assert!(matches!(error, SourceError::WorktreeOfRemote { .. }));
    }

    #[test]
    fn unreachable_url_leaves_no_temporary_clone() {
        let cache = tempfile::tempdir().unwrap();
        let missing = cache.path().join("no-such-repo");
        let error = Source::open(&SourceOptions {
            repo: format!("file://{}", missing.display()),
            cache_dir: Some(cache.path().join("mirrors")),
            ..SourceOptions::default()
        })
        .err()
        .unwrap();
        assert!(matches!(error, SourceError::Clone { .. }), "{error}");
        assert_eq!(
            fs::read_dir(cache.path().join("mirrors")).unwrap().count(),
            0
        );
    }

    #[test]
    fn credentials_give_up() {
        let https = CredentialType::USER_PASS_PLAINTEXT;
        let auth = AuthState::default();
        for _ in 0..=MAX_AUTH_ATTEMPTS {
            assert!(credentials(&auth, None, https, || Some("t".to_string())).is_ok());
        }
        assert!(!auth.refused.get());
        assert!(credentials(&auth, None, https, || Some("t".to_string())).is_err());
        assert!(auth.refused.get());

        let auth = AuthState::default();
        assert!(credentials(&auth, None, https, || None).is_err());
        assert!(auth.refused.get());

        let auth = AuthState::default();
        assert!(credentials(&auth, None, CredentialType::USERNAME, || None).is_ok());
        assert!(!auth.refused.get());
    }

    #[test]
    fn working_copy_falls_back_to_origin_branches() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init(dir.path(), false);
        let first = commit(&repo, &[("spa.yaml", File(b"one"))], "first");
        commit(&repo, &[("spa.yaml", File(b"two"))], "second");
        repo.reference("refs/remotes/origin/feature", first, false, "test")
            .unwrap();
        for reference in ["feature", "origin/feature"] {
            let source = Source::open(&local(dir.path(), Some(reference))).unwrap();
            assert_eq!(read(&source, "spa.yaml").unwrap(), "one", "{reference}");
        }
        // `origin/main` does not exist here, but `main` does.
        let source = Source::open(&local(dir.path(), Some("origin/main"))).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "two");
        // A tree id is not a commit.
        let tree = repo
            .head()
            .unwrap()
            .peel_to_tree()
            .unwrap()
            .id()
            .to_string();
        let error = Source::open(&local(dir.path(), Some(&tree))).err().unwrap();
        assert!(matches!(error, SourceError::NotACommit { .. }), "{error}");
    }

    #[test]
    fn mirror_follows_the_remote_default_branch() {
        let upstream_dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let upstream = init(upstream_dir.path(), true);
        let first = commit(&upstream, &[("spa.yaml", File(b"main"))], "first");
        upstream
            .branch("trunk", &upstream.find_commit(first).unwrap(), false)
            .unwrap();
        upstream.set_head("refs/heads/trunk").unwrap();
        let second = commit(&upstream, &[("spa.yaml", File(b"trunk"))], "second");
        let options = SourceOptions {
            repo: format!("file://{}", upstream_dir.path().display()),
            cache_dir: Some(cache.path().to_path_buf()),
            ..SourceOptions::default()
        };
        let mut source = Source::open(&options).unwrap();
        assert_eq!(read(&source, "spa.yaml").unwrap(), "trunk");
        assert_eq!(source.revision().commit, Some(second.to_string()));

        upstream.set_head("refs/heads/main").unwrap();
        assert!(source.refresh().unwrap());
        assert_eq!(read(&source, "spa.yaml").unwrap(), "main");

        // HEAD of the mirror follows upstream; the `origin/HEAD` left by the clone is gone.
        let mirror =
            Repository::open_bare(cache.path().join(cache_dir_name(&options.repo))).unwrap();
        assert!(mirror.find_reference("refs/remotes/origin/HEAD").is_err());
        assert_eq!(mirror.head().unwrap().name().unwrap(), "refs/heads/main");
    }

    #[test]
    fn urls_and_paths() {
        assert!(matches!(
            classify("https://github.com/o/r"),
            Location::Remote(_)
        ));
        assert!(matches!(
            classify("git@github.com:o/r.git"),
            Location::Remote(_)
        ));
        assert!(matches!(classify("file:///tmp/r"), Location::Remote(_)));
        assert!(matches!(classify("/tmp/r"), Location::Local(_)));
        assert!(matches!(classify("./a:b"), Location::Local(_)));
        assert!(matches!(classify("settings"), Location::Local(_)));
        assert!(matches!(classify("C:\\settings"), Location::Local(_)));
    }

    #[test]
    fn urls_lose_their_secrets() {
        assert_eq!(
            redact_url("https://user:s3cret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            redact_url("https://ghp_token@github.com/o/r"),
            "https://github.com/o/r"
        );
        assert_eq!(
            redact_url("ssh://git:pw@host:22/o/r"),
            "ssh://git@host:22/o/r"
        );
        assert_eq!(redact_url("ssh://git@host/o/r"), "ssh://git@host/o/r");
        assert_eq!(redact_url("git@github.com:o/r"), "git@github.com:o/r");
        assert_eq!(redact_url("file:///tmp/a@b"), "file:///tmp/a@b");

        let name = cache_dir_name("https://user:s3cret@github.com/o/r.git");
        assert!(!name.contains("s3cret") && !name.contains("user"), "{name}");
        assert!(name.starts_with("github.com_o_r.git-"), "{name}");
        assert_eq!(name, cache_dir_name("https://github.com/o/r.git"));
        assert_ne!(
            cache_dir_name("https://h/a/b_c"),
            cache_dir_name("https://h/a_b/c")
        );
        assert!(!cache_dir_name("file:///..").starts_with('.'));

        let options = SourceOptions {
            repo: "https://x:s3cret@h/r".to_string(),
            ..SourceOptions::default()
        };
        assert!(!format!("{options:?}").contains("s3cret"));
    }

    #[test]
    fn default_cache_directory() {
        assert_eq!(
            default_cache_dir(Some("/xdg".into()), Some("/home/u".into())),
            Some(PathBuf::from("/xdg/spa/repos"))
        );
        assert_eq!(
            default_cache_dir(Some("relative".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.cache/spa/repos"))
        );
        assert_eq!(default_cache_dir(None, None), None);
    }
}
