//! The settings file is Claude Code's and the user's, not ours: it is replaced only whole (a temp file renamed
//! over it, synced), keeps its permissions, owner and symlink, and a failed write leaves nothing behind.

use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The file's bytes, or `None` if it does not exist.
pub(super) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The file `path` finally names, following symlinks, so that a settings file kept as a link into a dotfiles
/// repository is written through instead of being replaced by a plain file.
pub(super) fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Where the previous contents of `path` are kept: `settings.json` → `settings.json.ccbreaker.bak`.
pub(super) fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".ccbreaker.bak");
    PathBuf::from(name)
}

/// Replaces `path` with `bytes` atomically: a new temp file in the same directory, with `like`'s permissions
/// and owner (0600 without `like`), synced, renamed over `path`, then the directory synced.
pub(super) fn write_atomic(path: &Path, bytes: &[u8], like: Option<&Metadata>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let (temp, file) = create_temp(dir, name)?;
    if let Err(e) = fill(file, bytes, like).and_then(|()| fs::rename(&temp, path)) {
        // Best effort: the write's error is the one worth reporting.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(dir)
}

/// A new file `.NAME.PID.UNIQUE.tmp` in `dir`, created exclusively so no other writer or leftover is reused.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    for _ in 0..100 {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.{nanos:x}{count:x}.tmp", std::process::id()));
        let temp = dir.join(temp_name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "could not create a uniquely named temporary file"))
}

/// Sets the temp file's permissions and owner before any content lands in it, writes, and syncs: errors at
/// close would be lost in `Drop`.
fn fill(mut file: File, bytes: &[u8], like: Option<&Metadata>) -> io::Result<()> {
    match like {
        Some(meta) => {
            file.set_permissions(meta.permissions())?;
            #[cfg(unix)]
            keep_owner(&file, meta)?;
        }
        None => {
            #[cfg(unix)]
            file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        }
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// Gives the temp file `like`'s owner, so that `sudo ccbreaker install` does not leave a user's settings owned
/// by root. Only a group we may not hand the file to is tolerated: the owner can still read it.
#[cfg(unix)]
fn keep_owner(file: &File, like: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mine = file.metadata()?;
    if (mine.uid(), mine.gid()) == (like.uid(), like.gid()) {
        return Ok(());
    }
    match std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid())) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && mine.uid() == like.uid() => Ok(()),
        other => other,
    }
}

/// Makes the rename durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::test_dir::TestDir;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_file() {
        let dir = TestDir::new("atomic");
        let path = dir.path().join("settings.json");
        fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new", Some(&fs::metadata(&path).unwrap())).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(dir.names(), ["settings.json"]);
    }

    #[test]
    fn a_failed_write_removes_its_temp_file() {
        let dir = TestDir::new("atomic-fail");
        // Renaming a file over a non-empty directory fails after the temp file was written.
        let path = dir.path().join("settings.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "x").unwrap();
        assert!(write_atomic(&path, b"new", None).is_err());
        assert_eq!(dir.names(), ["settings.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_private_and_existing_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new("atomic-mode");
        let path = dir.path().join("settings.json");
        write_atomic(&path, b"{}", None).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"{}", Some(&fs::metadata(&path).unwrap())).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_resolve_to_their_target() {
        let dir = TestDir::new("symlink");
        let real = dir.path().join("dotfiles").join("settings.json");
        fs::create_dir(real.parent().unwrap()).unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink("dotfiles/settings.json", &link).unwrap();
        assert_eq!(resolve_symlinks(&link).unwrap(), dir.path().join("dotfiles/settings.json"));
        assert_eq!(resolve_symlinks(&real).unwrap(), real);
    }

    #[test]
    fn backup_sits_beside_the_file() {
        assert_eq!(
            backup_path(Path::new("/home/u/.claude/settings.json")),
            Path::new("/home/u/.claude/settings.json.ccbreaker.bak")
        );
    }
}
