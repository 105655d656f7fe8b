//! Watching a local repository: a reconcile when a branch moves. The controller reads
//! commits, never the working files, so only the references in `.git` matter (a commit, a
//! checkout, a fetch), and only changes count: inotify also reports every file opened, and
//! the controller's own reads of `.git` would otherwise wake it again and again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use super::shared::Shared;

/// Changes settle this long before a reconcile is triggered.
const SETTLE: Duration = Duration::from_millis(500);

/// Whether an event of `kind` at `path`, inside the Git directory `git_dir`, may move a
/// branch.
pub(super) fn relevant(kind: &EventKind, git_dir: &Path, path: &Path) -> bool {
    if !matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    ) {
        return false;
    }
    let Ok(inside) = path.strip_prefix(git_dir) else {
        return false;
    };
    inside.starts_with("refs") || inside == Path::new("HEAD") || inside == Path::new("packed-refs")
}

/// Watches the Git directory of the repository at `path` (a working copy or a bare
/// repository); returns the watcher, which stops when dropped.
pub(super) fn watch(path: &Path, shared: Arc<Shared>) -> Result<impl Drop, String> {
    let dot_git = path.join(".git");
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        path.to_path_buf()
    };
    let watched = git_dir.clone();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && let Some(path) = event
                .paths
                .iter()
                .find(|p| relevant(&event.kind, &watched, p))
        {
            let _ = sender.send(format!("{:?} {}", event.kind, path.display()));
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
    watcher
        .watch(&git_dir, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", git_dir.display()))?;
    // Debounce: a burst of changes (a checkout, a commit) is one reconcile.
    tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            loop {
                match tokio::time::timeout(SETTLE, receiver.recv()).await {
                    Ok(Some(_)) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            tracing::debug!(first, "files changed");
            shared.trigger(&format!("file change {first}"), false, false);
        }
    });
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};

    use super::*;

    #[test]
    fn reads_never_count_and_only_moved_branches_do() {
        let open = EventKind::Access(AccessKind::Open(AccessMode::Read));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Read));
        let modified = EventKind::Modify(ModifyKind::Any);
        let created = EventKind::Create(CreateKind::File);
        let cases = [
            (&open, "/repo/.git/HEAD", false),
            (&closed, "/repo/.git/refs/heads/main", false),
            (&open, "/repo/settings.yaml", false),
            // Working files: what a commit says does not change with them.
            (&modified, "/repo/settings.yaml", false),
            (&created, "/repo/controller.log", false),
            (&modified, "/repo/.git/HEAD", true),
            (&modified, "/repo/.git/refs/heads/main", true),
            (&modified, "/repo/.git/packed-refs", true),
            (&modified, "/repo/.git/index", false),
            (&modified, "/repo/.git/objects/ab/cdef", false),
            (&modified, "/repo/.git/logs/HEAD", false),
        ];
        for (kind, path, expected) in cases {
            assert_eq!(
                relevant(kind, Path::new("/repo/.git"), Path::new(path)),
                expected,
                "{kind:?} {path}"
            );
        }
    }
}
