//! One home for how ccbreaker writes files: private modes for its own state, whole-file replacement (synced for
//! what a person wrote or decided, unsynced for caches that are checked on load and rebuilt), the names of the
//! temporary files that replacement leaves if killed, and the checksum that tells a torn state file from a whole one.

use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files ccbreaker keeps for itself (ledger, key logs, allowances, audit trail, caches): owner only.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;
/// Directories ccbreaker makes for itself: owner only.
pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// `OpenOptions` that create files with [`PRIVATE_FILE_MODE`].
pub(crate) fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    options
}

/// Creates `dir` and its missing parents with [`PRIVATE_DIR_MODE`].
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(dir)
}

/// What a replaced file must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// A power cut: the data and the rename are synced. For files that cannot be rebuilt: a person's config and
    /// settings, the allowances they granted.
    Synced,
    /// A crash of this process only: no sync. For caches that are checked on load and rebuilt when torn.
    Cache,
}

/// Replaces `path` with `bytes` atomically: a new temp file in the same directory (see [`is_temp_name`]), with
/// `like`'s permissions and owner ([`PRIVATE_FILE_MODE`] without `like`), renamed over `path`; synced with its
/// directory when `durability` asks for it. A failed write removes its temp file and leaves `path` as it was.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
    like: Option<&Metadata>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let (temp, file) = create_temp(dir, name)?;
    if let Err(e) = fill(file, bytes, durability, like).and_then(|()| fs::rename(&temp, path)) {
        // Best effort: the write's error is the one worth reporting.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    match durability {
        Durability::Synced => sync_dir(dir),
        Durability::Cache => Ok(()),
    }
}

/// A new file `.NAME.PID.UNIQUE.tmp` in `dir`, created exclusively so no other writer or leftover is reused.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(std::path::PathBuf, File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    for _ in 0..100 {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.{nanos:x}{count:x}.tmp", std::process::id()));
        let temp = dir.join(temp_name);
        match private_options().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "could not create a uniquely named temporary file"))
}

/// Whether a directory entry is a temp file [`write_atomic`] makes.
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Sets the temp file's permissions and owner before any content lands in it, writes, and syncs if asked: errors
/// at close would be lost in `Drop`.
fn fill(mut file: File, bytes: &[u8], durability: Durability, like: Option<&Metadata>) -> io::Result<()> {
    if let Some(meta) = like {
        file.set_permissions(meta.permissions())?;
        #[cfg(unix)]
        keep_owner(&file, meta)?;
    }
    file.write_all(bytes)?;
    match durability {
        Durability::Synced => file.sync_all(),
        Durability::Cache => Ok(()),
    }
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

/// Makes a rename durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes the temp files a killed process left in `dir` (older than a minute, so none still being written).
pub(crate) fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let minute_ago = SystemTime::now() - Duration::from_secs(60);
    for entry in entries.flatten() {
        let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < minute_ago);
        if stale && is_temp_name(&entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The file's bytes, or `None` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A group whose files ccbreaker never reads on a user's behalf: in locked mode, the group of its own state, so a
/// symlink the user plants cannot make the privileged hook read the state as a config or a transcript.
static FORBIDDEN_GROUP: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Sets the group whose files [`read_regular`] and the transcript reader refuse (once per process).
pub(crate) fn forbid_group(gid: u32) {
    let _ = FORBIDDEN_GROUP.set(gid);
}

/// Whether `meta` is of the group set by [`forbid_group`].
pub(crate) fn is_forbidden(meta: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        FORBIDDEN_GROUP.get().is_some_and(|gid| meta.gid() == *gid)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Opens `path` for reading without waiting for a writer (a FIFO would block an ordinary open).
pub(crate) fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, rustix::fs::OFlags::NONBLOCK.bits() as i32);
    options.open(path)
}

/// Reads a file a user controls (a config): a regular file only, opened without blocking (a FIFO would wait for a
/// writer), at most `cap` bytes, never one of the group set by [`forbid_group`].
pub(crate) fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is not a regular file"));
    }
    if is_forbidden(&meta) {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "it belongs to ccbreaker's own state"));
    }
    if meta.len() > cap {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("it is larger than {cap} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a file unless it is larger than `cap` (then `Ok(None)`).
pub(crate) fn read_capped(path: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len > cap {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// A 64-bit checksum of whole words, for ccbreaker's binary state files: catches torn and damaged files at memory
/// speed. Not a hash for identities (see `transcript::line::hash`, which must stay stable across builds).
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        h = (h.rotate_left(23) ^ u64::from_le_bytes(word.try_into().expect("8 bytes")))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    for &byte in words.remainder() {
        h = (h.rotate_left(23) ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_file() {
        for durability in [Durability::Synced, Durability::Cache] {
            let dir = TestDir::new("atomic");
            let path = dir.path().join("settings.json");
            fs::write(&path, "old").unwrap();
            write_atomic(&path, b"new", durability, Some(&fs::metadata(&path).unwrap())).unwrap();
            assert_eq!(fs::read_to_string(&path).unwrap(), "new");
            assert_eq!(dir.names(), ["settings.json"]);
        }
    }

    #[test]
    fn a_failed_write_removes_its_temp_file() {
        let dir = TestDir::new("atomic-fail");
        // Renaming a file over a non-empty directory fails after the temp file was written.
        let path = dir.path().join("settings.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "x").unwrap();
        assert!(write_atomic(&path, b"new", Durability::Synced, None).is_err());
        assert_eq!(dir.names(), ["settings.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_private_and_existing_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new("atomic-mode");
        let path = dir.path().join("settings.json");
        write_atomic(&path, b"{}", Durability::Cache, None).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, PRIVATE_FILE_MODE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"{}", Durability::Synced, Some(&fs::metadata(&path).unwrap())).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        assert_eq!(fs::metadata(&sub).unwrap().permissions().mode() & 0o777, PRIVATE_DIR_MODE);
    }

    #[test]
    fn temp_files_are_recognised_by_name() {
        assert!(is_temp_name(".ledger.bin.123.abc.tmp"));
        assert!(!is_temp_name("ledger.bin") && !is_temp_name(".hidden"));
    }

    #[test]
    fn the_checksum_sees_every_byte_and_the_length() {
        let a = checksum(b"0123456789abcdef!");
        assert_ne!(a, checksum(b"0123456789abcdef?"));
        assert_ne!(a, checksum(b"1123456789abcdef!"));
        assert_ne!(checksum(b""), checksum(b"\0"));
    }
}
