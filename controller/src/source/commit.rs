//! Reading a file at a commit, straight from the object database; symbolic links that leave
//! the repository and oversized blobs are refused before being read.

#[allow(unused_imports)]
use super::*;

pub(super) fn other(error: &git2::Error) -> FileError {
    FileError::Other(error.message().to_string())
}

/// Walks `path` one component at a time from the root tree, so a symbolic link anywhere on
/// the way (a linked directory too) is resolved inside the tree, never on disk.
pub(super) fn read_in_tree(repo: &Repository, root: Oid, path: &str) -> Result<Vec<u8>, FileError> {
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

pub(super) fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

/// Reads a blob after checking its size in the object header, which costs no inflating.
pub(super) fn read_blob(repo: &Repository, odb: &Odb<'_>, id: Oid) -> Result<Vec<u8>, FileError> {
    let (size, _) = odb.read_header(id).map_err(|e| other(&e))?;
    let size = size as u64;
    if size > MAX_FILE_SIZE {
        return Err(FileError::TooLarge { size });
    }
    let blob = repo.find_blob(id).map_err(|e| other(&e))?;
    Ok(blob.content().to_vec())
}

pub(super) fn read_link_target(
    repo: &Repository,
    odb: &Odb<'_>,
    id: Oid,
) -> Result<String, FileError> {
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
pub(super) fn resolve_link(directory: &[String], target: &str) -> Option<Vec<String>> {
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
