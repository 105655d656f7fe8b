//! Where settings files come from. This crate never touches a disk: the caller hands in a
//! [`FileProvider`] (a Git tree, a working copy, or memory in tests).

use std::collections::BTreeMap;

/// The largest file spa reads from a settings repository. Settings, CSV files and buildspecs
/// are small; a bigger file is a mistake (a data dump committed by accident) and reading it
/// whole would cost memory for nothing.
pub const MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

/// Reads files of one repository at one revision.
pub trait FileProvider {
    /// Reads `path`: relative to the repository root, `/`-separated, normalised (no `.` or
    /// `..` component, no leading `/`). Implementations must refuse symbolic links that leave
    /// the repository and files larger than [`MAX_FILE_SIZE`] without reading them whole.
    fn read(&self, path: &str) -> Result<Vec<u8>, FileError>;
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// No such file at this revision.
    NotFound,
    /// The path names a directory or a submodule, not a file.
    NotAFile,
    /// The file is larger than [`MAX_FILE_SIZE`].
    TooLarge { size: u64 },
    /// The path is a symbolic link whose target leaves the repository.
    EscapesRepository { target: String },
    /// Anything else (I/O, corrupt object): the message says what.
    Other(String),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::NotFound => write!(f, "no such file"),
            FileError::NotAFile => write!(f, "not a regular file"),
            FileError::TooLarge { size } => write!(
                f,
                "file is {size} bytes, larger than the limit of {MAX_FILE_SIZE} bytes"
            ),
            FileError::EscapesRepository { target } => {
                write!(f, "symbolic link to `{target}` leaves the repository")
            }
            FileError::Other(message) => write!(f, "{message}"),
        }
    }
}

/// Files held in memory: for tests, benchmarks and callers that already have the bytes.
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl MemoryFiles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.to_string(), content.into());
        self
    }
}

impl FileProvider for MemoryFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, FileError> {
        match self.files.get(path) {
            Some(bytes) if bytes.len() as u64 > MAX_FILE_SIZE => Err(FileError::TooLarge {
                size: bytes.len() as u64,
            }),
            Some(bytes) => Ok(bytes.clone()),
            None => Err(FileError::NotFound),
        }
    }
}
