//! Tests of reading settings repositories, on repositories made in temporary directories.

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
    const URL: &str = "https://git.example.com/settings.git";
    let token = |name: &str| (name == "SPA_GIT_TOKEN").then(|| "t".to_string());
    let https = CredentialType::USER_PASS_PLAINTEXT;
    let auth = AuthState::default();
    for _ in 0..=MAX_AUTH_ATTEMPTS {
        assert!(credentials(&auth, URL, None, https, &token).is_ok());
    }
    assert!(!auth.refused.get());
    assert!(credentials(&auth, URL, None, https, &token).is_err());
    assert!(auth.refused.get());

    let auth = AuthState::default();
    assert!(credentials(&auth, URL, None, https, &|_| None).is_err());
    assert!(auth.refused.get());

    let auth = AuthState::default();
    assert!(credentials(&auth, URL, None, CredentialType::USERNAME, &|_| None).is_ok());
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
    let mirror = Repository::open_bare(cache.path().join(cache_dir_name(&options.repo))).unwrap();
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

#[test]
fn credentials_in_a_plain_http_url_are_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let options = SourceOptions {
        repo: "http://user:s3cret-token@127.0.0.1:9/settings.git".to_string(),
        reference: None,
        worktree: false,
        cache_dir: Some(dir.path().to_path_buf()),
    };
    let error = Source::open(&options).err().expect("refused");
    assert!(
        matches!(error, SourceError::PlainHttpCredentials { .. }),
        "{error}"
    );
    assert!(!error.to_string().contains("s3cret"), "{error}");
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing cloned"
    );
}
