//! The settings file is Claude Code's and the user's, not ours: it is replaced only whole and synced
//! ([`crate::files::write_atomic`]), keeps its permissions, owner and symlink, and its previous bytes are kept
//! beside it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

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
