//! Locked mode: the boundary the operating system enforces. The agent runs as the user, so only what the user
//! cannot change without privilege can hold a budget against an agent that sets out to get past it.
//!
//! The mechanism (`sudo ccbreaker install --locked`): a root-owned binary, setgid to a `ccbreaker` group, is
//! registered in Claude Code's managed settings (which user and project settings cannot switch off); its budgets
//! come from a root-owned config that a user config may only tighten; and its state lives under a root-owned
//! directory that only the group may enter (`/var/lib/ccbreaker`, mode 3770), one directory per user. The hook keeps
//! the user's uid, so it reads the user's transcripts as before, and its group lets it into the state; the user is
//! not in the group, so nothing the agent runs can reach the state, and a setgid process can be neither traced nor
//! preloaded by the user. Every `CCBREAKER_*` variable is ignored. Grants (`sudo ccbreaker allow`) are root's: they
//! live in a root-owned directory the hook only reads. Whether locked mode is active is decided by one root-owned
//! file, [`MARKER`], which the user can neither create nor remove.

pub(crate) mod checks;
pub(crate) mod setup;

use std::path::{Path, PathBuf};

/// Present exactly when locked mode is installed; holds what `install --locked` set up.
pub(crate) const MARKER: &str = "/etc/ccbreaker/locked.toml";
/// Root's directory: the marker, the root-owned config, and the prices of `sudo ccbreaker prices update`.
pub(crate) const CONFIG_DIR: &str = "/etc/ccbreaker";
/// The root-owned config: its budgets win; a user config may only tighten them.
pub(crate) const ROOT_CONFIG: &str = "/etc/ccbreaker/config.toml";
/// Where the per-user state directories live (root:ccbreaker, mode 3770).
pub(crate) const STATE_ROOT: &str = "/var/lib/ccbreaker";
/// The group the binary is setgid to.
pub(crate) const GROUP: &str = "ccbreaker";

/// Claude Code's managed settings file on this system.
pub(crate) fn managed_settings() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ClaudeCode/managed-settings.json")
    } else {
        PathBuf::from("/etc/claude-code/managed-settings.json")
    }
}

/// What `install --locked` recorded in [`MARKER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Install {
    /// The root-owned, setgid binary the managed hooks run.
    pub binary: PathBuf,
    /// The `ccbreaker` group's id.
    pub gid: u32,
    pub state_root: PathBuf,
    pub managed_settings: PathBuf,
    /// Where ccbreaker's mod lies (root's), seated by the managed settings; `None` in a record written before the
    /// mod existed (`install --locked` again adds it).
    pub mod_dir: Option<PathBuf>,
}

/// Which mode this machine is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Hooks in the user's settings, config and state in the user's home: stops runaway loops; not a boundary.
    User,
    Locked(Install),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LockedError {
    #[error("could not read `{path}` (locked mode's record of its install)")]
    Marker {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` (locked mode's record of its install) is damaged: {message}")]
    Damaged { path: PathBuf, message: String },
    #[error("locked mode: {what} needs root: run `sudo ccbreaker {command}`")]
    NeedsRoot { what: &'static str, command: String },
    #[error("locked mode is active, and this ccbreaker (`{this}`) is not the locked one: run `{locked} {command}`")]
    NotTheLockedBinary { this: String, locked: String, command: String },
    #[error("{0}")]
    Setup(String),
    #[error("could not {action} `{path}`")]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Mode {
    /// The mode of this machine: locked exactly when [`MARKER`] exists.
    pub(crate) fn detect() -> Result<Mode, LockedError> {
        Mode::detect_at(Path::new(MARKER))
    }

    fn detect_at(marker: &Path) -> Result<Mode, LockedError> {
        let text = match std::fs::read_to_string(marker) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Mode::User),
            Err(source) => return Err(LockedError::Marker { path: marker.to_path_buf(), source }),
        };
        parse_marker(&text).map(Mode::Locked).ok_or_else(|| LockedError::Damaged {
            path: marker.to_path_buf(),
            message: "run `sudo ccbreaker install --locked` again".to_owned(),
        })
    }

    pub(crate) fn install(&self) -> Option<&Install> {
        match self {
            Mode::User => None,
            Mode::Locked(install) => Some(install),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Mode::User => "user",
            Mode::Locked(_) => "locked",
        }
    }
}

impl Install {
    /// This user's state directory.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.state_root.join(real_uid().to_string())
    }

    /// Where root's grants for user `uid` are kept (a root-owned directory the hook only reads).
    pub(crate) fn grants_file(&self, uid: u32) -> PathBuf {
        self.state_root.join("grants").join(format!("{uid}.json"))
    }

    /// Whether the running process is the locked binary.
    pub(crate) fn is_this_binary(&self) -> bool {
        std::env::current_exe().is_ok_and(|exe| exe == self.binary)
    }

    /// Whether the running process is `ccbreaker-net` beside the locked binary (root's, installed with it).
    pub(crate) fn is_its_net_binary(&self) -> bool {
        std::env::current_exe().is_ok_and(|exe| exe == crate::paths::net_binary_beside(&self.binary))
    }

    /// The error a command other than the hook gets from a ccbreaker that is not the locked one.
    pub(crate) fn not_this_binary(&self, command: &str) -> LockedError {
        let this = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
        LockedError::NotTheLockedBinary { this, locked: self.binary.display().to_string(), command: command.to_owned() }
    }

    pub(crate) fn render(&self) -> String {
        let mut text = format!(
            "# Written by `sudo ccbreaker install --locked`; removed by `sudo ccbreaker uninstall --locked`.\n\
             # While this file exists, ccbreaker runs in locked mode.\n\
             binary = {:?}\ngid = {}\nstate_root = {:?}\nmanaged_settings = {:?}\n",
            self.binary.display().to_string(),
            self.gid,
            self.state_root.display().to_string(),
            self.managed_settings.display().to_string()
        );
        if let Some(dir) = &self.mod_dir {
            text.push_str(&format!("mod_dir = {:?}\n", dir.display().to_string()));
        }
        text
    }
}

fn parse_marker(text: &str) -> Option<Install> {
    let table: toml::Table = text.parse().ok()?;
    let path = |key: &str| table.get(key)?.as_str().filter(|p| p.starts_with('/')).map(PathBuf::from);
    Some(Install {
        binary: path("binary")?,
        gid: u32::try_from(table.get("gid")?.as_integer()?).ok()?,
        state_root: path("state_root")?,
        managed_settings: path("managed_settings")?,
        mod_dir: path("mod_dir"),
    })
}

/// The real user id of this process (a setgid binary keeps it).
pub(crate) fn real_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Whether this process runs as root (for the commands locked mode keeps for root).
pub(crate) fn is_root() -> bool {
    rustix::process::getuid().is_root() && rustix::process::geteuid().is_root()
}

/// Fails unless the process runs as root: what locked mode asks of `allow`, `uninstall` and config changes.
pub(crate) fn require_root(what: &'static str, command: &str) -> Result<(), LockedError> {
    if is_root() { Ok(()) } else { Err(LockedError::NeedsRoot { what, command: command.to_owned() }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn the_marker_decides_the_mode() {
        let dir = TestDir::new("marker");
        let marker = dir.path().join("locked.toml");
        assert_eq!(Mode::detect_at(&marker).unwrap(), Mode::User);
        let install = Install {
            binary: PathBuf::from("/usr/local/bin/ccbreaker"),
            gid: 998,
            state_root: PathBuf::from(STATE_ROOT),
            managed_settings: managed_settings(),
            mod_dir: Some(PathBuf::from("/usr/local/lib/ccbreaker/mod")),
        };
        std::fs::write(&marker, install.render()).unwrap();
        assert_eq!(Mode::detect_at(&marker).unwrap(), Mode::Locked(install.clone()));
        let before_the_mod = Install { mod_dir: None, ..install.clone() };
        std::fs::write(&marker, before_the_mod.render()).unwrap();
        assert_eq!(Mode::detect_at(&marker).unwrap(), Mode::Locked(before_the_mod));
        std::fs::write(&marker, "binary = 3").unwrap();
        assert!(matches!(Mode::detect_at(&marker), Err(LockedError::Damaged { .. })));
        assert_eq!(install.grants_file(1000), Path::new("/var/lib/ccbreaker/grants/1000.json"));
    }
}
