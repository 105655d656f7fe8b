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

mod commit;
mod credentials;
mod mirror;
mod open;
mod resolve;
#[cfg(test)]
mod tests;
mod worktree;

use commit::*;
use credentials::*;
pub use mirror::redact_url;
use mirror::*;
use open::*;
use resolve::*;
use worktree::*;

/// How many symbolic links one [`FileProvider::read`] follows before giving up (a loop).
pub(crate) const MAX_SYMLINK_HOPS: u32 = 8;

/// A symbolic link's target is a path; anything longer is corrupt or hostile.
pub(crate) const MAX_SYMLINK_TARGET: usize = 4096;

/// libgit2 calls the credentials callback again after every rejected credential; without a
/// limit a wrong token loops forever.
pub(crate) const MAX_AUTH_ATTEMPTS: u32 = 3;

/// Refspecs of a bare mirror: remote branches and tags land under the same names locally, so
/// `main` and `v1.2` resolve in the mirror exactly as in the remote.
pub(crate) const MIRROR_REFSPECS: [&str; 2] =
    ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// Environment variables holding a token for https remotes, in order of preference.
pub(crate) const TOKEN_VARIABLES: [&str; 2] = ["SPA_GIT_TOKEN", "GITHUB_TOKEN"];

/// Username sent with a token when the URL names none (GitHub's convention; GitLab and
/// others accept any username with a token).
pub(crate) const TOKEN_USERNAME: &str = "x-access-token";

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
    #[error("no credentials sent to {url}: {why}")]
    CredentialsWithheld { url: String, why: &'static str },
    #[error(
        "{url} carries credentials over plain http: spa never sends a credential unencrypted; use an https URL and put the token in SPA_GIT_TOKEN"
    )]
    PlainHttpCredentials { url: String },
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
pub(crate) enum Origin {
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
pub(crate) enum Mode {
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
