//! Where ccbreaker's files and Claude Code's transcripts live: one function per location, each with its
//! environment override, so no other module guesses a path.

use crate::env::Env;
use std::path::{Path, PathBuf};

const APP: &str = "ccbreaker";

/// The config file: `$CCBREAKER_CONFIG`, else `<platform config dir>/ccbreaker/config.toml`.
pub(crate) fn config_file(env: &Env) -> PathBuf {
    if let Some(path) = &env.config {
        return path.clone();
    }
    config_dir(env).join("config.toml")
}

fn config_dir(env: &Env) -> PathBuf {
    if cfg!(target_os = "linux") {
        if let Some(xdg) = env.xdg_config_home.as_ref().filter(|p| p.is_absolute()) {
            return xdg.join(APP);
        }
        if let Some(home) = &env.home {
            return home.join(".config").join(APP);
        }
    }
    directories::ProjectDirs::from("", "", APP)
        .map(|dirs| dirs.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".").join(APP))
}

/// The state directory: `$CCBREAKER_STATE_DIR`, else the platform state dir (`~/.local/state/ccbreaker`).
pub(crate) fn state_dir(env: &Env) -> PathBuf {
    if let Some(path) = &env.state_dir {
        return path.clone();
    }
    if cfg!(target_os = "linux")
        && let Some(home) = &env.home
    {
        if let Some(xdg) = env.xdg_state_home.as_ref().filter(|p| p.is_absolute()) {
            return xdg.join(APP);
        }
        return home.join(".local").join("state").join(APP);
    }
    directories::ProjectDirs::from("", "", APP)
        .map(|dirs| dirs.state_dir().unwrap_or(dirs.data_local_dir()).to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join(APP))
}

/// Where `ccbreaker install` writes ccbreaker's mod (user mode): `$XDG_DATA_HOME/ccbreaker/mod`, else
/// `~/.local/share/ccbreaker/mod` on Linux; the platform data dir elsewhere (`~/Library/Application
/// Support/ccbreaker/mod` on macOS). Locked mode puts it under its prefix instead (`<prefix>/lib/ccbreaker/mod`).
pub(crate) fn mod_dir(env: &Env) -> PathBuf {
    if cfg!(target_os = "linux") {
        if let Some(xdg) = env.xdg_data_home.as_ref().filter(|p| p.is_absolute()) {
            return joined(xdg, &[APP, "mod"]);
        }
        if let Some(home) = &env.home {
            return joined(home, &[".local", "share", APP, "mod"]);
        }
    }
    directories::ProjectDirs::from("", "", APP)
        .map(|dirs| dirs.data_dir().join("mod"))
        .unwrap_or_else(|| PathBuf::from(".").join(APP).join("mod"))
}

/// `base` joined with `parts`, in one allocation (the hook computes [`mod_dir`] on every tool call).
fn joined(base: &Path, parts: &[&str]) -> PathBuf {
    let mut path = PathBuf::with_capacity(base.as_os_str().len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    path.push(base);
    for part in parts {
        path.push(part);
    }
    path
}

/// Every directory Claude Code may write transcripts to: each `CLAUDE_CONFIG_DIR` entry's `projects/`,
/// `~/.claude/projects` and `$XDG_CONFIG_HOME/claude/projects` (`~/.config/claude/projects`), plus any extra
/// roots from the config. Duplicates are dropped; missing directories are kept (they may appear later).
pub(crate) fn transcript_roots(env: &Env, extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut unique: Vec<PathBuf> = Vec::new();
    for root in transcript_roots_as_given(env, extra) {
        let canonical = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        if !unique.contains(&canonical) {
            unique.push(canonical);
        }
    }
    unique
}

/// The roots as the environment and config spell them, without resolving symlinks (no system calls).
pub(crate) fn transcript_roots_as_given(env: &Env, extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for dir in env.claude_config_dirs() {
        roots.push(projects_of(&dir));
    }
    if let Some(home) = &env.home {
        roots.push(home.join(".claude").join("projects"));
        let xdg = env.xdg_config_home.clone().unwrap_or_else(|| home.join(".config"));
        roots.push(xdg.join("claude").join("projects"));
    }
    roots.extend(extra.iter().map(|root| expand_home(root, env.home.as_deref())));
    roots
}

/// The name of the binary that holds the commands using the network (`reconcile`, `prices update` from a URL).
pub(crate) const NET_BINARY: &str = "ccbreaker-net";

/// `ccbreaker-net` beside the `ccbreaker` binary at `binary`: the one place the network binary is looked for (the
/// commands that run it, `install --locked`, the tamper checks and the boundary checks all ask here).
pub(crate) fn net_binary_beside(binary: &Path) -> PathBuf {
    binary.with_file_name(format!("{NET_BINARY}{}", std::env::consts::EXE_SUFFIX))
}

/// The first executable file named `name` in a directory of `PATH`, as a shell would find it.
pub(crate) fn find_on_path(env: &Env, name: &str) -> Option<PathBuf> {
    let path = env.path.as_deref()?;
    std::env::split_paths(path).filter(|dir| dir.is_absolute()).map(|dir| dir.join(name)).find(|candidate| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        candidate.is_file()
    })
}

/// Whether typing `ccbreaker` in a shell with this `PATH` runs `binary`.
pub(crate) fn is_on_path(env: &Env, binary: &Path) -> bool {
    let Some(found) = find_on_path(env, APP) else { return false };
    match (std::fs::canonicalize(found), std::fs::canonicalize(binary)) {
        (Ok(found), Ok(binary)) => found == binary,
        _ => false,
    }
}

/// The Admin API key file named by `reconcile.admin_key_file` (`~/` is the home directory).
pub(crate) fn admin_key_file(env: &Env, configured: &Path) -> PathBuf {
    expand_home(configured, env.home.as_deref())
}

/// `path` with symlinks resolved; a file that does not exist yet is resolved through its parent directory.
pub(crate) fn resolve(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path)
        .ok()
        .or_else(|| Some(std::fs::canonicalize(path.parent()?).ok()?.join(path.file_name()?)))
}

/// `path` is `root` or inside it, as written or once symlinks are resolved.
pub(crate) fn is_within(path: &Path, root: &Path) -> bool {
    path.starts_with(root)
        || match (resolve(path), std::fs::canonicalize(root).ok()) {
            (Some(path), Some(root)) => path.starts_with(root),
            _ => false,
        }
}

/// `~/x` is `$HOME/x`, as in a shell.
pub(crate) fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// A `CLAUDE_CONFIG_DIR` entry holds `projects/`, unless it already names the `projects` directory.
fn projects_of(dir: &Path) -> PathBuf {
    if dir.file_name().is_some_and(|name| name == "projects") { dir.to_path_buf() } else { dir.join("projects") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(vars: &[(&str, &str)]) -> Env {
        let vars: Vec<(String, OsString)> = vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        Env::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn roots_cover_every_claude_dir() {
        let e = env(&[("HOME", "/h"), ("CLAUDE_CONFIG_DIR", "/a, /b/projects,")]);
        let roots = transcript_roots(&e, &[PathBuf::from("/extra"), PathBuf::from("~/more")]);
        let roots: Vec<_> = roots.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        assert_eq!(
            roots,
            ["/a/projects", "/b/projects", "/h/.claude/projects", "/h/.config/claude/projects", "/extra", "/h/more"]
        );
    }

    #[test]
    fn overrides_win() {
        let e = env(&[("HOME", "/h"), ("CCBREAKER_CONFIG", "/c.toml"), ("CCBREAKER_STATE_DIR", "/s")]);
        assert_eq!(config_file(&e), PathBuf::from("/c.toml"));
        assert_eq!(state_dir(&e), PathBuf::from("/s"));
        let plain = env(&[("HOME", "/h")]);
        assert_eq!(config_file(&plain), PathBuf::from("/h/.config/ccbreaker/config.toml"));
        if cfg!(target_os = "linux") {
            assert_eq!(mod_dir(&plain), PathBuf::from("/h/.local/share/ccbreaker/mod"));
            assert_eq!(mod_dir(&env(&[("HOME", "/h"), ("XDG_DATA_HOME", "/d")])), PathBuf::from("/d/ccbreaker/mod"));
        }
    }
}
