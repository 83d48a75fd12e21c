//! `ccbreaker install` and `uninstall`: a breaker that is not registered as a hook guards nothing, and the place
//! it is registered is the user's own Claude Code settings file. This module finds that file, edits it with the
//! pure [`add_hooks`] and [`remove_hooks`], and writes it back only when something changed, after a backup.

pub(crate) mod client;
mod edit;
mod file;
pub(crate) mod mods;
#[cfg(test)]
mod plugin;
mod shell;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::Value;

use crate::env::Env;
use crate::files::{self, Durability};

pub(crate) use edit::{
    Change, EditError, Edited, EventChange, Registered, add_hooks, add_statusline, event_names, fails_closed,
    registered, remove_hooks, remove_statusline, statusline,
};

/// Which Claude Code settings file to edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every session of this user: `~/.claude/settings.json`.
    User,
    /// Everyone working in this project, checked in: `.claude/settings.json`.
    Project,
    /// This project on this machine, not checked in: `.claude/settings.local.json`.
    Local,
}

impl FromStr for Scope {
    type Err = InstallError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "project" => Ok(Self::Project),
            "local" => Ok(Self::Local),
            _ => Err(InstallError::UnknownScope { scope: s.to_owned() }),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Project => "project",
            Self::Local => "local",
        })
    }
}

/// The settings file of `scope`. User settings live in `CLAUDE_CONFIG_DIR` (its first entry if it holds a
/// comma-separated list; relative to `cwd` if relative), else in `HOME/.claude`; project and local settings in
/// `cwd/.claude`.
pub(crate) fn settings_path(scope: Scope, env: &Env, cwd: &Path) -> Result<PathBuf, InstallError> {
    let config_dirs = env.claude_config_dirs();
    let config_dir = config_dirs.first();
    let home = env.home.as_deref().filter(|home| !home.as_os_str().is_empty());
    let dir = match (scope, config_dir, home) {
        (Scope::Project | Scope::Local, _, _) => cwd.join(".claude"),
        (Scope::User, Some(dir), _) => cwd.join(dir),
        (Scope::User, None, Some(home)) => home.join(".claude"),
        (Scope::User, None, None) => return Err(InstallError::NoHome),
    };
    let name = if scope == Scope::Local { "settings.local.json" } else { "settings.json" };
    Ok(dir.join(name))
}

/// Every Claude Code settings file that can hold (or switch off) ccbreaker's hooks for a session working in `cwd`:
/// the user, project and local settings, and `settings.json`/`settings.local.json` of every Claude config
/// directory (`CLAUDE_CONFIG_DIR` entries and `~/.claude`). What the tamper checks protect.
pub(crate) fn settings_files(env: &Env, cwd: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        [Scope::User, Scope::Project, Scope::Local].iter().filter_map(|&s| settings_path(s, env, cwd).ok()).collect();
    for dir in env.claude_config_dirs().into_iter().chain(env.home.as_ref().map(|h| h.join(".claude"))) {
        for name in ["settings.json", "settings.local.json"] {
            let path = dir.join(name);
            if !files.contains(&path) {
                files.push(path);
            }
        }
    }
    files
}

/// The hook command for the ccbreaker binary at `binary`: its path, shell-quoted if it needs it, then `hook`.
pub(crate) fn hook_command(binary: &Path) -> Result<String, InstallError> {
    command_for(binary, shell::HOOK_SUBCOMMAND)
}

/// `binary` (absolute, shell-quoted if it needs it) with `subcommand`.
fn command_for(binary: &Path, subcommand: &str) -> Result<String, InstallError> {
    if !binary.is_absolute() {
        return Err(InstallError::RelativeBinary { path: binary.to_path_buf() });
    }
    let text = binary.to_str().ok_or_else(|| InstallError::NonUtf8Binary { path: binary.to_path_buf() })?;
    Ok(format!("{} {subcommand}", shell::quote(text)))
}

/// `binary`'s path as one shell word (quoted if it needs it), as messages print it.
pub(crate) fn quote(binary: &Path) -> String {
    shell::quote(&binary.to_string_lossy()).into_owned()
}

/// The command a checked-in settings file runs (`install --scope project`): `ccbreaker SUBCOMMAND` by name, found
/// on each teammate's `PATH`.
pub(crate) fn command_by_name(subcommand: &str) -> String {
    format!("ccbreaker {subcommand}")
}

/// The statusline command for the binary at `binary` (see [`hook_command`]).
pub(crate) fn statusline_command(binary: &Path) -> Result<String, InstallError> {
    command_for(binary, "statusline")
}

/// What [`install`] or [`uninstall`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The settings file, as given.
    pub path: PathBuf,
    /// What changed (or would have, in a dry run), event by event; empty when nothing needed to.
    pub changes: Vec<EventChange>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// The file already said what it should; it was not touched (nor created).
    Unchanged,
    /// The file was rewritten; `backup` holds the previous bytes if the file existed.
    Written { backup: Option<PathBuf> },
    /// Dry run: nothing was written; `json` is the whole file as it would have been.
    DryRun { json: String },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum InstallError {
    #[error("unknown settings scope `{scope}` (expected `user`, `project` or `local`)")]
    UnknownScope { scope: String },
    #[error("cannot locate the user settings: neither CLAUDE_CONFIG_DIR nor HOME is set")]
    NoHome,
    #[error("the hook needs ccbreaker's absolute path, not `{}`", path.display())]
    RelativeBinary { path: PathBuf },
    #[error("ccbreaker's path `{}` is not valid UTF-8", path.display())]
    NonUtf8Binary { path: PathBuf },
    #[error("could not read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is not valid JSON (line {line}, column {column})", path.display())]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not edit `{}`", path.display())]
    Edit {
        path: PathBuf,
        #[source]
        source: EditError,
    },
    #[error("could not create directory `{}`", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write backup `{}`", path.display())]
    Backup {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write or remove ccbreaker's mod file `{}`", path.display())]
    Mod {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// How settings load ccbreaker's mod (see [`mods`]), beside the hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModEntry<'a> {
    /// Not from this file (project or local settings cannot name plugin folders).
    None,
    /// User settings: the folder in `env.CLAUDE_CODE_PLUGIN_DIRS`.
    PluginDir(&'a str),
    /// Managed settings: the folder as a directory marketplace, the plugin enabled.
    Marketplace(&'a str),
}

/// Adds ccbreaker's hook entries for `command` (see [`hook_command`]) to the settings file at `path`, creating
/// it if missing (see [`add_hooks`]), and the entry that loads its mod. With `statusline` (its command, and
/// whether to replace another one), also ccbreaker's statusline ([`add_statusline`]).
pub(crate) fn install(
    path: &Path,
    command: &str,
    fail_closed: bool,
    mod_entry: ModEntry,
    statusline: Option<(&str, bool)>,
    dry_run: bool,
) -> Result<Outcome, InstallError> {
    update(path, dry_run, |settings| {
        let mut edited = add_hooks(settings, command, fail_closed)?;
        let entry = match mod_entry {
            ModEntry::None => None,
            ModEntry::PluginDir(dir) => Some(mods::add_plugin_dir(std::mem::take(&mut edited.settings), dir)?),
            ModEntry::Marketplace(dir) => Some(mods::add_marketplace(std::mem::take(&mut edited.settings), dir)?),
        };
        if let Some(more) = entry {
            edited.settings = more.settings;
            edited.changes.extend(more.changes);
        }
        if let Some((line, force)) = statusline {
            let more = add_statusline(&edited.settings, line, force)?;
            edited.settings = more.settings;
            edited.changes.extend(more.changes);
        }
        Ok(edited)
    })
}

/// Sets ccbreaker's statusline alone in the settings file at `path` (locked mode, whose hooks are in the managed
/// settings); see [`add_statusline`].
pub(crate) fn install_statusline(path: &Path, line: &str, force: bool, dry_run: bool) -> Result<Outcome, InstallError> {
    update(path, dry_run, |settings| add_statusline(settings, line, force))
}

/// Removes ccbreaker's hook entries (see [`remove_hooks`]), its statusline and the entry that loads its mod from the
/// settings file at `path`. A missing file is left missing.
pub(crate) fn uninstall(path: &Path, mod_entry: ModEntry, dry_run: bool) -> Result<Outcome, InstallError> {
    update(path, dry_run, |settings| {
        let mut edited = remove_hooks(settings)?;
        let entry = match mod_entry {
            ModEntry::None => None,
            ModEntry::PluginDir(dir) => Some(mods::remove_plugin_dir(std::mem::take(&mut edited.settings), dir)?),
            ModEntry::Marketplace(_) => Some(mods::remove_marketplace(std::mem::take(&mut edited.settings))?),
        };
        if let Some(more) = entry {
            edited.settings = more.settings;
            edited.changes.extend(more.changes);
        }
        let more = remove_statusline(&edited.settings)?;
        edited.settings = more.settings;
        edited.changes.extend(more.changes);
        Ok(edited)
    })
}

/// The settings at `path` (a missing file is empty settings), for `doctor`.
pub(crate) fn read_settings(path: &Path) -> Result<Value, InstallError> {
    let read_error = |source| InstallError::Read { path: path.to_path_buf(), source };
    let target = file::resolve_symlinks(path).map_err(read_error)?;
    let bytes = files::read_optional(&target).map_err(read_error)?;
    parse(path, bytes.as_deref())
}

/// Writes ccbreaker's mod for `binary` into `dir` (created, mode 0755; files 0644: the client reads them as the
/// user, in locked mode too), each file replaced atomically; returns how many files changed.
pub(crate) fn write_mod(dir: &Path, binary: &Path) -> Result<usize, InstallError> {
    let mut changed = 0;
    for (name, text) in mods::files(binary) {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() == Some(text.as_bytes()) {
            continue;
        }
        let error = |source| InstallError::Mod { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(error)?;
        }
        files::write_atomic(&path, text.as_bytes(), Durability::Synced, None).map_err(error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).map_err(error)?;
        }
        changed += 1;
    }
    Ok(changed)
}

/// Removes what [`write_mod`] wrote into `dir`, and the folders this leaves empty; `dir` itself included.
pub(crate) fn remove_mod(dir: &Path) -> Result<usize, InstallError> {
    let mut removed = 0;
    for (name, _) in mods::files(Path::new("/")) {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(InstallError::Mod { path, source }),
        }
    }
    for sub in [".claude-plugin", "mod", "hooks", ""] {
        // Only folders left empty go; anything else a person put there stays.
        let _ = std::fs::remove_dir(dir.join(sub));
    }
    Ok(removed)
}

/// Reads the settings at `path`, applies `edit`, and writes the result back if it changed and this is no dry
/// run: first a backup of the previous bytes, then the new file, both atomically.
fn update(
    path: &Path,
    dry_run: bool,
    edit: impl FnOnce(&Value) -> Result<Edited, EditError>,
) -> Result<Outcome, InstallError> {
    let read_error = |source| InstallError::Read { path: path.to_path_buf(), source };
    let target = file::resolve_symlinks(path).map_err(read_error)?;
    let before = files::read_optional(&target).map_err(read_error)?;
    let settings = parse(path, before.as_deref())?;
    let edited = edit(&settings).map_err(|source| InstallError::Edit { path: path.to_path_buf(), source })?;
    let mut outcome = Outcome { path: path.to_path_buf(), changes: edited.changes, status: Status::Unchanged };
    if outcome.changes.iter().all(|c| matches!(c.change, Change::Kept(_))) {
        return Ok(outcome);
    }
    let json = format!("{:#}\n", edited.settings);
    if dry_run {
        outcome.status = Status::DryRun { json };
        return Ok(outcome);
    }
    let (like, backup) = match &before {
        Some(bytes) => {
            let meta = std::fs::metadata(&target).map_err(read_error)?;
            let backup = file::backup_path(path);
            files::write_atomic(&backup, bytes, Durability::Synced, Some(&meta))
                .map_err(|source| InstallError::Backup { path: backup.clone(), source })?;
            (Some(meta), Some(backup))
        }
        None => {
            if let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|source| InstallError::CreateDir { path: dir.to_path_buf(), source })?;
            }
            (None, None)
        }
    };
    files::write_atomic(&target, json.as_bytes(), Durability::Synced, like.as_ref())
        .map_err(|source| InstallError::Write { path: path.to_path_buf(), source })?;
    outcome.status = Status::Written { backup };
    Ok(outcome)
}

/// The settings in `bytes`; a missing or blank file is an empty object.
fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Value, InstallError> {
    match bytes {
        Some(bytes) if !bytes.trim_ascii().is_empty() => serde_json::from_slice(bytes).map_err(|source| {
            InstallError::InvalidJson { path: path.to_path_buf(), line: source.line(), column: source.column(), source }
        }),
        _ => Ok(Value::Object(serde_json::Map::new())),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;
    use crate::test_dir::TestDir;

    const CMD: &str = "/usr/local/bin/ccbreaker hook";

    /// What a fresh install into `settings` writes.
    fn installed(settings: &Value, fail_closed: bool) -> String {
        format!("{:#}\n", add_hooks(settings, CMD, fail_closed).unwrap().settings)
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_a_missing_file_and_its_directory() {
        let dir = TestDir::new("create");
        let path = dir.path().join(".claude").join("settings.json");
        let outcome = install(&path, CMD, true, ModEntry::None, None, false).unwrap();
        assert_eq!(outcome.status, Status::Written { backup: None });
        assert_eq!(outcome.path, path);
        assert_eq!(outcome.changes.len(), 5);
        assert!(!outcome.changes.is_empty());
        assert_eq!(read(&path), installed(&json!({}), true));
        assert!(read(&path).ends_with("}\n"));
        assert_eq!(dir.names(), [".claude"]);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn backs_up_the_previous_bytes_first() {
        let dir = TestDir::new("backup");
        let path = dir.path().join("settings.json");
        let before = r#"{"model":"opus","env":{"B":"1","A":"2"}}"#;
        fs::write(&path, before).unwrap();
        let outcome = install(&path, CMD, false, ModEntry::None, None, false).unwrap();
        let backup = dir.path().join("settings.json.ccbreaker.bak");
        assert_eq!(outcome.status, Status::Written { backup: Some(backup.clone()) });
        assert_eq!(read(&backup), before);
        assert_eq!(read(&path), installed(&serde_json::from_str(before).unwrap(), false));
        assert!(
            read(&path)
                .starts_with("{\n  \"model\": \"opus\",\n  \"env\": {\n    \"B\": \"1\",\n    \"A\": \"2\"\n  },")
        );
        assert_eq!(dir.names(), ["settings.json", "settings.json.ccbreaker.bak"]);
    }

    #[test]
    fn installing_again_touches_nothing() {
        let dir = TestDir::new("again");
        let path = dir.path().join("settings.json");
        fs::write(&path, "{\"model\": \"opus\"}").unwrap();
        install(&path, CMD, false, ModEntry::None, None, false).unwrap();
        let first = read(&path);
        fs::remove_file(dir.path().join("settings.json.ccbreaker.bak")).unwrap();
        let outcome = install(&path, CMD, false, ModEntry::None, None, false).unwrap();
        assert_eq!(outcome.status, Status::Unchanged);
        assert!(outcome.changes.is_empty());
        assert_eq!(read(&path), first);
        assert_eq!(dir.names(), ["settings.json"], "no backup of an unchanged file");
        let outcome = install(&path, CMD, true, ModEntry::None, None, false).unwrap();
        assert_eq!(outcome.changes.len(), 2, "PreToolUse and PostToolBatch gain onFailure");
    }

    #[test]
    fn invalid_json_is_refused_naming_the_file_line_and_column() {
        let dir = TestDir::new("invalid");
        let path = dir.path().join("settings.json");
        let before = "{\n  \"model\": \"opus\",\n  oops\n}\n";
        fs::write(&path, before).unwrap();
        let error = install(&path, CMD, false, ModEntry::None, None, false).unwrap_err();
        assert!(matches!(error, InstallError::InvalidJson { line: 3, column: 3, .. }), "{error:?}");
        assert_eq!(error.to_string(), format!("`{}` is not valid JSON (line 3, column 3)", path.display()));
        let reason = std::error::Error::source(&error).unwrap().to_string();
        assert!(reason.starts_with("key must be a string"), "{reason}");
        assert_eq!(read(&path), before);
        assert_eq!(dir.names(), ["settings.json"]);
        assert!(matches!(uninstall(&path, ModEntry::None, false), Err(InstallError::InvalidJson { .. })));
    }

    #[test]
    fn a_top_level_that_is_not_an_object_is_refused() {
        let dir = TestDir::new("array");
        let path = dir.path().join("settings.json");
        fs::write(&path, "[]").unwrap();
        let error = install(&path, CMD, false, ModEntry::None, None, false).unwrap_err();
        assert_eq!(error.to_string(), format!("could not edit `{}`", path.display()));
        let reason = std::error::Error::source(&error).unwrap().to_string();
        assert_eq!(reason, "`$` should be an object, found an array");
        assert_eq!(read(&path), "[]");
    }

    #[test]
    fn an_empty_file_is_empty_settings() {
        for before in ["", " \n\t\n"] {
            let dir = TestDir::new("empty");
            let path = dir.path().join("settings.json");
            fs::write(&path, before).unwrap();
            let outcome = install(&path, CMD, false, ModEntry::None, None, false).unwrap();
            assert!(matches!(outcome.status, Status::Written { backup: Some(_) }));
            assert_eq!(read(&path), installed(&json!({}), false));
        }
    }

    #[test]
    fn a_dry_run_writes_nothing_and_shows_the_result() {
        let dir = TestDir::new("dry");
        let path = dir.path().join("settings.json");
        let before = "{\"model\": \"opus\"}";
        fs::write(&path, before).unwrap();
        let dry = install(&path, CMD, true, ModEntry::None, None, true).unwrap();
        let Status::DryRun { json } = &dry.status else { panic!("{dry:?}") };
        assert_eq!(dry.changes.len(), 5);
        assert_eq!(read(&path), before);
        assert_eq!(dir.names(), ["settings.json"]);
        let real = install(&path, CMD, true, ModEntry::None, None, false).unwrap();
        assert_eq!(real.changes, dry.changes);
        assert_eq!(&read(&path), json);

        let written = read(&path);
        let dry = uninstall(&path, ModEntry::None, true).unwrap();
        assert!(matches!(dry.status, Status::DryRun { .. }));
        assert_eq!(read(&path), written);
        let missing = dir.path().join("missing").join("settings.json");
        assert_eq!(install(&missing, CMD, false, ModEntry::None, None, true).unwrap().changes.len(), 5);
        assert_eq!(dir.names(), ["settings.json", "settings.json.ccbreaker.bak"]);
    }

    #[test]
    fn uninstall_restores_the_rest_and_leaves_a_missing_file_missing() {
        let dir = TestDir::new("uninstall");
        let path = dir.path().join("settings.json");
        let before = "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"say done\"\n          }\n        ]\n      }\n    ]\n  }\n}\n";
        fs::write(&path, before).unwrap();
        install(&path, CMD, true, ModEntry::None, None, false).unwrap();
        let outcome = uninstall(&path, ModEntry::None, false).unwrap();
        assert_eq!(outcome.changes.len(), 5);
        assert_eq!(read(&path), before);
        assert_eq!(uninstall(&path, ModEntry::None, false).unwrap().status, Status::Unchanged);

        let missing = dir.path().join("nowhere").join("settings.json");
        assert_eq!(uninstall(&missing, ModEntry::None, false).unwrap().status, Status::Unchanged);
        assert!(!dir.path().join("nowhere").exists());
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new("mode");
        let path = dir.path().join("settings.json");
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        install(&path, CMD, false, ModEntry::None, None, false).unwrap();
        assert_eq!(mode(&path), 0o640);
        assert_eq!(mode(&dir.path().join("settings.json.ccbreaker.bak")), 0o640);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();
        uninstall(&path, ModEntry::None, false).unwrap();
        assert_eq!(mode(&path), 0o604);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_settings_file_is_written_through() {
        let dir = TestDir::new("link");
        fs::create_dir(dir.path().join("dotfiles")).unwrap();
        let real = dir.path().join("dotfiles").join("claude-settings.json");
        fs::write(&real, "{}").unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink("dotfiles/claude-settings.json", &link).unwrap();
        install(&link, CMD, false, ModEntry::None, None, false).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(read(&real), installed(&json!({}), false));
        assert_eq!(read(&dir.path().join("settings.json.ccbreaker.bak")), "{}");
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let dir = TestDir::new("unreadable");
        let path = dir.path().join("settings.json");
        fs::create_dir(&path).unwrap();
        let error = install(&path, CMD, false, ModEntry::None, None, false).unwrap_err();
        assert!(matches!(error, InstallError::Read { .. }), "{error:?}");
        assert_eq!(error.to_string(), format!("could not read `{}`", path.display()));
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_that_cannot_be_created_is_an_error_naming_it() {
        let dir = TestDir::new("nodir");
        // A dangling symlink: reading through it finds no file, creating the directory finds a name taken.
        let claude = dir.path().join(".claude");
        std::os::unix::fs::symlink("gone/away", &claude).unwrap();
        let path = claude.join("settings.json");
        let error = install(&path, CMD, false, ModEntry::None, None, false).unwrap_err();
        assert!(matches!(error, InstallError::CreateDir { .. }), "{error:?}");
        assert_eq!(error.to_string(), format!("could not create directory `{}`", claude.display()));
    }

    fn env(claude_config_dir: Option<&str>, home: Option<&str>) -> Env {
        Env { claude_config_dir: claude_config_dir.map(str::to_owned), home: home.map(PathBuf::from), ..Env::default() }
    }

    #[test]
    fn settings_paths_per_scope() {
        let cwd = Path::new("/work/repo");
        let home = env(None, Some("/home/u"));
        let path = |scope, env: &Env| settings_path(scope, env, cwd).unwrap();
        assert_eq!(path(Scope::User, &home), Path::new("/home/u/.claude/settings.json"));
        assert_eq!(path(Scope::Project, &home), Path::new("/work/repo/.claude/settings.json"));
        assert_eq!(path(Scope::Local, &home), Path::new("/work/repo/.claude/settings.local.json"));
        let config = env(Some("/cfg/claude"), Some("/home/u"));
        assert_eq!(path(Scope::User, &config), Path::new("/cfg/claude/settings.json"));
        assert_eq!(path(Scope::Project, &config), Path::new("/work/repo/.claude/settings.json"));
        let list = env(Some(" , /first ,/second"), None);
        assert_eq!(path(Scope::User, &list), Path::new("/first/settings.json"));
        let relative = env(Some("cfg"), None);
        assert_eq!(path(Scope::User, &relative), Path::new("/work/repo/cfg/settings.json"));
        let blank = env(Some(" , "), Some("/home/u"));
        assert_eq!(path(Scope::User, &blank), Path::new("/home/u/.claude/settings.json"));
        assert!(matches!(settings_path(Scope::User, &env(None, Some("")), cwd), Err(InstallError::NoHome)));
        assert!(matches!(settings_path(Scope::User, &Env::default(), cwd), Err(InstallError::NoHome)));
        assert_eq!(path(Scope::Local, &Env::default()), Path::new("/work/repo/.claude/settings.local.json"));
    }

    #[test]
    fn scopes_parse_and_print() {
        for scope in [Scope::User, Scope::Project, Scope::Local] {
            assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
        }
        let error = "global".parse::<Scope>().unwrap_err();
        assert_eq!(error.to_string(), "unknown settings scope `global` (expected `user`, `project` or `local`)");
    }

    #[test]
    fn hook_command_quotes_only_when_needed() {
        assert_eq!(hook_command(Path::new("/usr/local/bin/ccbreaker")).unwrap(), "/usr/local/bin/ccbreaker hook");
        let spaced = hook_command(Path::new("/Users/Jo Doe/.local/bin/ccbreaker")).unwrap();
        assert_eq!(spaced, "'/Users/Jo Doe/.local/bin/ccbreaker' hook");
        assert!(add_hooks(&json!({}), &spaced, false).is_ok(), "the quoted command is recognised as ccbreaker's");
        assert!(matches!(hook_command(Path::new("bin/ccbreaker")), Err(InstallError::RelativeBinary { .. })));
    }
}
