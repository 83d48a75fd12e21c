//! Whether locked mode's boundary holds, as facts a person can check: owners and modes of what the agent must not
//! change, the group the hook runs with, and the managed settings holding the hooks. `ccbreaker status` shows them;
//! they are one function so another command (`doctor`) can show them too.

use super::{CONFIG_DIR, Install, MARKER, ROOT_CONFIG};
use serde::Serialize;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One fact about the boundary.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Check {
    pub ok: bool,
    pub what: String,
}

fn check(ok: bool, what: impl Into<String>) -> Check {
    Check { ok, what: what.into() }
}

/// Root-owned and writable by root alone.
fn roots_only(path: &Path, what: &str) -> Check {
    match fs::metadata(path) {
        Ok(meta) if meta.uid() == 0 && meta.mode() & 0o022 == 0 => {
            check(true, format!("{what} `{}` is root's, mode {:o}", path.display(), meta.mode() & 0o7777))
        }
        Ok(meta) => check(
            false,
            format!(
                "{what} `{}` is owned by uid {} with mode {:o}: others could change it",
                path.display(),
                meta.uid(),
                meta.mode() & 0o7777
            ),
        ),
        Err(err) => check(false, format!("{what} `{}` cannot be read: {err}", path.display())),
    }
}

/// Every fact, in the order a person would check them.
pub(crate) fn run(install: &Install) -> Vec<Check> {
    let mut out =
        vec![roots_only(Path::new(MARKER), "the locked-mode record"), roots_only(Path::new(ROOT_CONFIG), "the config")];
    out.push(roots_only(Path::new(CONFIG_DIR), "the config directory"));
    let prices = crate::pricing::stored::path(Path::new(CONFIG_DIR));
    if prices.exists() {
        out.push(roots_only(&prices, "the prices of `prices update`"));
    }
    out.push(binary(install));
    let net = crate::paths::net_binary_beside(&install.binary);
    if net.exists() {
        out.push(roots_only(&net, "the network binary"));
    }
    for dir in install.binary.ancestors().skip(1) {
        let c = roots_only(dir, "the directory");
        if !c.ok {
            out.push(c);
        }
    }
    out.push(state_root(install));
    out.push(roots_only(&install.state_root.join("grants"), "the grants directory"));
    out.push(process_group(install));
    out.push(managed(install));
    out.push(mod_files(install));
    out
}

/// ccbreaker's mod: root's, as this binary wrote it (running this binary), its folders root's alone, and seated by
/// the managed settings.
fn mod_files(install: &Install) -> Check {
    let Some(dir) = &install.mod_dir else {
        return check(false, "no mod is recorded: run `sudo ccbreaker install --locked` again to add it");
    };
    for (name, _) in crate::install::mods::files(&install.binary) {
        let c = roots_only(&dir.join(name), "the mod's file");
        if !c.ok {
            return c;
        }
    }
    for folder in dir.join("mod").ancestors().skip(1) {
        let c = roots_only(folder, "the mod's folder");
        if !c.ok {
            return c;
        }
    }
    let changed = crate::install::mods::differences(dir, &install.binary);
    if let Some(path) = changed.first() {
        return check(false, format!("the mod's file `{}` is not what this ccbreaker installs", path.display()));
    }
    let settings = fs::read_to_string(&install.managed_settings)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .unwrap_or_default();
    if !crate::install::mods::seated(&settings, dir) {
        return check(
            false,
            format!(
                "the managed settings `{}` do not seat the mod in `{}`",
                install.managed_settings.display(),
                dir.display()
            ),
        );
    }
    check(true, format!("the mod `{}` is root's and seated by the managed settings", dir.display()))
}

fn binary(install: &Install) -> Check {
    let path = &install.binary;
    match fs::metadata(path) {
        Ok(m) if m.uid() == 0 && m.gid() == install.gid && m.mode() & 0o2000 != 0 && m.mode() & 0o022 == 0 => {
            check(true, format!("the binary `{}` is root's, setgid to group {}", path.display(), install.gid))
        }
        Ok(m) => check(
            false,
            format!(
                "the binary `{}` is uid {} gid {} mode {:o}: it must be root's, setgid (2755) to group {}",
                path.display(),
                m.uid(),
                m.gid(),
                m.mode() & 0o7777,
                install.gid
            ),
        ),
        Err(err) => check(false, format!("the binary `{}` cannot be read: {err}", path.display())),
    }
}

fn state_root(install: &Install) -> Check {
    let path = &install.state_root;
    match fs::metadata(path) {
        Ok(m) if m.uid() == 0 && m.gid() == install.gid && m.mode() & 0o007 == 0 => check(
            true,
            format!("the state `{}` is root's, mode {:o}: only the group enters", path.display(), m.mode() & 0o7777),
        ),
        Ok(m) => check(
            false,
            format!(
                "the state `{}` is uid {} gid {} mode {:o}: it must be root:{} with no access for others",
                path.display(),
                m.uid(),
                m.gid(),
                m.mode() & 0o7777,
                install.gid
            ),
        ),
        Err(err) => check(false, format!("the state `{}` cannot be read by this process: {err}", path.display())),
    }
}

/// The user (this process's real ids and supplementary groups) is not in the group, and the locked binary runs
/// with it (a file system mounted `nosuid` would drop it).
fn process_group(install: &Install) -> Check {
    let gid = install.gid;
    let member = rustix::process::getgid().as_raw() == gid
        || rustix::process::getgroups().is_ok_and(|groups| groups.iter().any(|g| g.as_raw() == gid));
    if member && !super::is_root() {
        return check(false, format!("this user is a member of group {gid}, so it can reach the state: remove it"));
    }
    if !install.is_this_binary() {
        return check(
            true,
            format!(
                "this user is not in group {gid} (run `{}` to check the group it runs with)",
                install.binary.display()
            ),
        );
    }
    let effective = rustix::process::getegid().as_raw();
    check(
        effective == gid || super::is_root(),
        format!("the locked binary runs with group {effective} (expected {gid}); this user is not in the group"),
    )
}

fn managed(install: &Install) -> Check {
    let path = &install.managed_settings;
    let owner = roots_only(path, "the managed settings");
    if !owner.ok {
        return owner;
    }
    let Ok(text) = fs::read_to_string(path) else {
        return check(false, format!("the managed settings `{}` cannot be read", path.display()));
    };
    let Ok(settings) = serde_json::from_str::<serde_json::Value>(&text) else {
        return check(false, format!("the managed settings `{}` are not JSON", path.display()));
    };
    if settings.get("disableAllHooks").is_some_and(|v| v != &serde_json::Value::Bool(false)) {
        return check(false, format!("the managed settings `{}` set disableAllHooks", path.display()));
    }
    let binary = install.binary.display().to_string();
    let missing: Vec<&str> = ["PreToolUse", "PostToolBatch", "UserPromptSubmit", "Stop", "SubagentStop"]
        .into_iter()
        .filter(|event| {
            !settings["hooks"][*event].as_array().is_some_and(|groups| {
                groups.iter().any(|g| {
                    g["hooks"].as_array().is_some_and(|hs| {
                        hs.iter()
                            .any(|h| h["command"].as_str().is_some_and(|c| c.contains(&binary) && c.ends_with(" hook")))
                    })
                })
            })
        })
        .collect();
    if missing.is_empty() {
        check(true, format!("the managed settings `{}` hold ccbreaker's hooks", path.display()))
    } else {
        check(
            false,
            format!("the managed settings `{}` lack ccbreaker's hook for {}", path.display(), missing.join(", ")),
        )
    }
}
