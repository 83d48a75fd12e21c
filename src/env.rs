//! Every environment variable ccbreaker reads, named in one place and read once, so tests can pass a scrubbed
//! environment and the README can list them all.

use crate::error::Error;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Default wait for the ledger lock in a hook: far below the hook timeout `ccbreaker install` sets (10 s).
pub(crate) const LOCK_TIMEOUT: Duration = Duration::from_millis(2000);

/// Path of the TOML config file (default: the platform config dir, `~/.config/ccbreaker/config.toml` on Linux).
pub const CCBREAKER_CONFIG: &str = "CCBREAKER_CONFIG";
/// Directory for the ledger and its lock (default: the platform state dir, `~/.local/state/ccbreaker` on Linux).
pub const CCBREAKER_STATE_DIR: &str = "CCBREAKER_STATE_DIR";
/// `allow` or `block`: what to do when the config file itself cannot be read (it can't say so then).
pub const CCBREAKER_ON_ERROR: &str = "CCBREAKER_ON_ERROR";
/// Milliseconds a hook waits for the ledger lock before giving up (default 2000).
pub const CCBREAKER_LOCK_TIMEOUT_MS: &str = "CCBREAKER_LOCK_TIMEOUT_MS";
/// A file to append one diagnostic line per hook call to (off by default).
pub const CCBREAKER_LOG: &str = "CCBREAKER_LOG";
/// An RFC 3339 instant used as "now" instead of the system clock: for tests and for replaying a past day.
pub const CCBREAKER_NOW: &str = "CCBREAKER_NOW";
/// Claude Code's config directory, or a comma-separated list of them; each holds `projects/` and `settings.json`.
pub const CLAUDE_CONFIG_DIR: &str = "CLAUDE_CONFIG_DIR";
/// Set by Claude Code in the environment of everything it runs (hooks and tool calls).
pub const CLAUDECODE: &str = "CLAUDECODE";
pub const CLAUDE_CODE_SESSION_ID: &str = "CLAUDE_CODE_SESSION_ID";
/// The project's root, set by Claude Code for hooks: where project settings are, whatever the event's `cwd`.
pub const CLAUDE_PROJECT_DIR: &str = "CLAUDE_PROJECT_DIR";
/// Set by Claude Code for a plugin's hooks: the plugin's directory (its wrapper is protected like the binary).
pub const CLAUDE_PLUGIN_ROOT: &str = "CLAUDE_PLUGIN_ROOT";
/// Set by `sudo`: the user who ran it, whose grants `sudo ccbreaker allow` writes in locked mode.
pub const SUDO_UID: &str = "SUDO_UID";
/// Set (to anything) to turn colour off in human output (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
/// On Linux, where `install` writes ccbreaker's mod (`$XDG_DATA_HOME/ccbreaker/mod`, default `~/.local/share`).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
pub const HOME: &str = "HOME";
/// An Anthropic Admin API key (`sk-ant-admin...`) for `ccbreaker reconcile`; never printed.
pub const ANTHROPIC_ADMIN_KEY: &str = "ANTHROPIC_ADMIN_KEY";
/// The Admin API's base URL for `ccbreaker reconcile` (default `https://api.anthropic.com`): a proxy, or a test server.
pub const CCBREAKER_ADMIN_API_URL: &str = "CCBREAKER_ADMIN_API_URL";
/// Set by `ccbreaker exec` for the command it runs: hooks record the sessions of that run (and their halts) under it.
/// Read in locked mode too: it can only make `exec` see more halts (see `crate::runs`).
pub const CCBREAKER_RUN_ID: &str = "CCBREAKER_RUN_ID";
/// The terminal's width, which Claude Code passes to its statusline command.
pub const COLUMNS: &str = "COLUMNS";
/// Where commands are looked up: whether `ccbreaker` there is this binary decides how messages name it.
pub const PATH: &str = "PATH";

/// A snapshot of the variables above.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub config: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub on_error: Option<String>,
    pub lock_timeout_ms: Option<String>,
    pub log: Option<PathBuf>,
    pub now: Option<String>,
    pub claude_config_dir: Option<String>,
    pub inside_claude_code: bool,
    pub project_dir: Option<PathBuf>,
    pub plugin_root: Option<PathBuf>,
    pub sudo_uid: Option<String>,
    pub no_color: bool,
    pub xdg_config_home: Option<PathBuf>,
    pub xdg_state_home: Option<PathBuf>,
    pub xdg_data_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub admin_key: Option<Secret>,
    pub admin_api_url: Option<String>,
    /// `CCBREAKER_RUN_ID`: the run `ccbreaker exec` started this process tree for (see `crate::runs`).
    pub run_id: Option<String>,
    /// Columns the terminal has (`COLUMNS`), for the statusline and tables.
    pub columns: Option<String>,
    /// `PATH`.
    pub path: Option<String>,
    /// Read from the process (not a test's lookup): variables the config names (`alerts.*_env`) are then read from
    /// the process environment too.
    pub(crate) process: bool,
}

/// A value that must never be shown: its `Debug` says `[redacted]`, and only [`Secret::expose`] gives it out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Env {
    /// Reads the process environment. Empty values count as unset.
    pub fn from_process() -> Env {
        Env { process: true, ..Env::from_lookup(|name| std::env::var_os(name)) }
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Env {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let string = |name: &str| get(name).map(|value| value.to_string_lossy().into_owned());
        let path = |name: &str| get(name).map(PathBuf::from);
        Env {
            config: path(CCBREAKER_CONFIG),
            state_dir: path(CCBREAKER_STATE_DIR),
            on_error: string(CCBREAKER_ON_ERROR),
            lock_timeout_ms: string(CCBREAKER_LOCK_TIMEOUT_MS),
            log: path(CCBREAKER_LOG),
            now: string(CCBREAKER_NOW),
            claude_config_dir: string(CLAUDE_CONFIG_DIR),
            inside_claude_code: get(CLAUDECODE).is_some() || get(CLAUDE_CODE_SESSION_ID).is_some(),
            project_dir: path(CLAUDE_PROJECT_DIR),
            plugin_root: path(CLAUDE_PLUGIN_ROOT),
            sudo_uid: string(SUDO_UID),
            no_color: get(NO_COLOR).is_some(),
            xdg_config_home: path(XDG_CONFIG_HOME),
            xdg_state_home: path(XDG_STATE_HOME),
            xdg_data_home: path(XDG_DATA_HOME),
            home: path(HOME).or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())),
            admin_key: string(ANTHROPIC_ADMIN_KEY).map(|key| Secret::new(key.trim().to_owned())),
            admin_api_url: string(CCBREAKER_ADMIN_API_URL),
            run_id: string(CCBREAKER_RUN_ID),
            columns: string(COLUMNS),
            path: string(PATH),
            process: false,
        }
    }

    /// A variable the config names (`alerts.webhook_url_env`, ...), read from the process environment when this
    /// `Env` is the process's; never shown.
    pub(crate) fn named(&self, name: &str) -> Option<Secret> {
        if !self.process {
            return None;
        }
        std::env::var(name).ok().filter(|v| !v.trim().is_empty()).map(|v| Secret::new(v.trim().to_owned()))
    }

    /// `COLUMNS` as a number, if it is one.
    pub(crate) fn columns(&self) -> Option<usize> {
        self.columns.as_deref().and_then(|c| c.trim().parse().ok()).filter(|c| *c > 0)
    }

    /// This environment without any `CCBREAKER_*` variable but `CCBREAKER_RUN_ID` (which can only add halts to what
    /// `exec` reports): what locked mode reads (see `locked`).
    pub(crate) fn without_overrides(&self) -> Env {
        Env {
            config: None,
            state_dir: None,
            on_error: None,
            lock_timeout_ms: None,
            log: None,
            now: None,
            admin_api_url: None,
            ..self.clone()
        }
    }

    /// `CCBREAKER_LOCK_TIMEOUT_MS`, else [`LOCK_TIMEOUT`].
    pub(crate) fn lock_timeout(&self) -> Result<Duration, Error> {
        match self.lock_timeout_ms.as_deref() {
            None => Ok(LOCK_TIMEOUT),
            Some(value) => value.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| Error::Env {
                var: CCBREAKER_LOCK_TIMEOUT_MS,
                expected: "a whole number of milliseconds",
                value: value.to_owned(),
            }),
        }
    }

    /// The entries of `CLAUDE_CONFIG_DIR`, trimmed, empty ones dropped.
    pub fn claude_config_dirs(&self) -> Vec<PathBuf> {
        self.claude_config_dir
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .collect()
    }
}
