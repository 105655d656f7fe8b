//! Reading the files of a working copy, uncommitted edits included.

#[allow(unused_imports)]
use super::*;

pub(super) fn read_in_worktree(root: &Path, path: &str) -> Result<Vec<u8>, FileError> {
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

pub(super) fn is_not_found(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// The target text of the first link on the path that resolves outside `root`, to name it in
/// the error.
pub(super) fn escaping_link(root: &Path, components: &[String]) -> Option<String> {
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
