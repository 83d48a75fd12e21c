//! `sudo ccbreaker install --locked` and `sudo ccbreaker uninstall --locked`: what locked mode puts in place (see
//! the module above), each step checked, in an order that activates locked mode only once everything it needs is
//! there (the marker is written last and removed first).

use super::{CONFIG_DIR, GROUP, Install, LockedError, MARKER, ROOT_CONFIG, STATE_ROOT};
use crate::files::{self, Durability};
use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `install --locked` did, step by step, for the person who ran it.
pub(crate) type Steps = Vec<String>;

fn file_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LockedError {
    let path = path.to_path_buf();
    move |source| LockedError::File { action, path, source }
}

/// Installs locked mode with the binary copied to `<prefix>/bin/ccbreaker`; `hook_command` makes the managed
/// settings' command for a binary path.
pub(crate) fn install(prefix: &Path, fail_closed: bool) -> Result<(Install, Steps), LockedError> {
    super::require_root("`install --locked`", "install --locked")?;
    let mut steps = Steps::new();
    let gid = ensure_group(&mut steps)?;
    let binary = install_binary(prefix, gid, &mut steps)?;
    secure_ancestors(&binary)?;
    ensure_dir(Path::new(CONFIG_DIR), 0, 0o755)?;
    let config = Path::new(ROOT_CONFIG);
    if config.exists() {
        chown(config, Some(0), Some(0)).map_err(file_err("change the owner of", config))?;
        set_mode(config, 0o644)?;
        steps.push(format!("kept the budgets in {ROOT_CONFIG} (now root-owned, mode 0644)"));
    } else {
        files::write_atomic(config, crate::config::TEMPLATE.as_bytes(), Durability::Synced, None)
            .map_err(file_err("write", config))?;
        set_mode(config, 0o644)?;
        steps.push(format!("wrote the default budgets to {ROOT_CONFIG} (edit it as root)"));
    }
    let state_root = PathBuf::from(STATE_ROOT);
    ensure_dir(&state_root, gid, 0o3770)?;
    ensure_dir(&state_root.join("grants"), 0, 0o755)?;
    steps.push(format!("state in {STATE_ROOT}/<uid>/ (root:{GROUP}, mode 3770: only the {GROUP} group enters)"));
    let managed = super::managed_settings();
    if let Some(dir) = managed.parent() {
        ensure_dir(dir, 0, 0o755)?;
    }
    let mod_dir = install_mod(prefix, &binary, &mut steps)?;
    let command = crate::install::hook_command(&binary).map_err(|e| LockedError::Setup(crate::error::report(&e)))?;
    let mod_text = mod_dir.display().to_string();
    let entry = crate::install::ModEntry::Marketplace(&mod_text);
    let outcome = crate::install::install(&managed, &command, fail_closed, entry, None, false)
        .map_err(|e| LockedError::Setup(crate::error::report(&e)))?;
    chown(&managed, Some(0), Some(0)).map_err(file_err("change the owner of", &managed))?;
    set_mode(&managed, 0o644)?;
    steps.push(format!(
        "hooks and the mod's marketplace registered in {} ({} changes)",
        managed.display(),
        outcome.changes.len()
    ));
    let install = Install { binary, gid, state_root, managed_settings: managed, mod_dir: Some(mod_dir) };
    let marker = Path::new(MARKER);
    files::write_atomic(marker, install.render().as_bytes(), Durability::Synced, None)
        .map_err(file_err("write", marker))?;
    set_mode(marker, 0o644)?;
    steps.push(format!("locked mode on ({MARKER})"));
    Ok((install, steps))
}

/// Removes the managed hooks and the marker; keeps the binary, the config and the state (named in the steps).
pub(crate) fn uninstall() -> Result<Steps, LockedError> {
    super::require_root("`uninstall --locked`", "uninstall --locked")?;
    let super::Mode::Locked(install) = super::Mode::detect()? else {
        return Err(LockedError::Setup("locked mode is not installed (no /etc/ccbreaker/locked.toml)".to_owned()));
    };
    let mut steps = Steps::new();
    let marker = Path::new(MARKER);
    fs::remove_file(marker).map_err(file_err("remove", marker))?;
    steps.push(format!("locked mode off (removed {MARKER})"));
    let mod_text = install.mod_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default();
    let entry = crate::install::ModEntry::Marketplace(&mod_text);
    let outcome = crate::install::uninstall(&install.managed_settings, entry, false)
        .map_err(|e| LockedError::Setup(crate::error::report(&e)))?;
    steps.push(format!(
        "hooks and the mod removed from {} ({} changes)",
        install.managed_settings.display(),
        outcome.changes.len()
    ));
    if let Some(dir) = &install.mod_dir {
        crate::install::remove_mod(dir).map_err(|e| LockedError::Setup(crate::error::report(&e)))?;
        steps.push(format!("removed ccbreaker's mod from {}", dir.display()));
    }
    let net = crate::paths::net_binary_beside(&install.binary);
    steps.push(format!(
        "kept: {} (setgid), {}, {ROOT_CONFIG}, {}; remove them with `sudo rm -f {} {} && sudo rm -r /etc/ccbreaker {}` \
         and `sudo groupdel {GROUP}`",
        install.binary.display(),
        net.display(),
        install.state_root.display(),
        install.binary.display(),
        net.display(),
        install.state_root.display()
    ));
    Ok(steps)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), LockedError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(file_err("set the mode of", path))
}

/// Creates `dir` if missing, then makes it root-owned, of group `gid`, with `mode` exactly.
fn ensure_dir(dir: &Path, gid: u32, mode: u32) -> Result<(), LockedError> {
    fs::create_dir_all(dir).map_err(file_err("create", dir))?;
    chown(dir, Some(0), Some(gid)).map_err(file_err("change the owner of", dir))?;
    set_mode(dir, mode)
}

/// The `ccbreaker` group's id, creating the group if it does not exist.
fn ensure_group(steps: &mut Steps) -> Result<u32, LockedError> {
    if let Some(gid) = group_id(GROUP) {
        steps.push(format!("group {GROUP} (gid {gid}) exists"));
        return Ok(gid);
    }
    let status = if cfg!(target_os = "macos") {
        Command::new("/usr/sbin/dseditgroup").args(["-o", "create", "-r", "ccbreaker", GROUP]).status()
    } else {
        let groupadd = ["/usr/sbin/groupadd", "/sbin/groupadd"].into_iter().find(|p| Path::new(p).exists());
        Command::new(groupadd.unwrap_or("groupadd")).args(["--system", GROUP]).status()
    };
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(LockedError::Setup(format!("could not create the group {GROUP} ({status})"))),
        Err(err) => return Err(LockedError::Setup(format!("could not create the group {GROUP}: {err}"))),
    }
    let gid =
        group_id(GROUP).ok_or_else(|| LockedError::Setup(format!("the group {GROUP} was created but not found")))?;
    steps.push(format!("created group {GROUP} (gid {gid})"));
    Ok(gid)
}

/// The id of group `name`: from `/etc/group`, else `getent` (Linux) or Directory Services (macOS).
pub(crate) fn group_id(name: &str) -> Option<u32> {
    let from_file = fs::read_to_string("/etc/group").ok().and_then(|text| {
        text.lines().find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == name).then(|| fields.nth(1)?.parse().ok()).flatten()
        })
    });
    from_file.or_else(|| {
        let output = if cfg!(target_os = "macos") {
            Command::new("/usr/bin/dscl").args([".", "-read", &format!("/Groups/{name}"), "PrimaryGroupID"]).output()
        } else {
            Command::new("getent").args(["group", name]).output()
        };
        let text = String::from_utf8(output.ok()?.stdout).ok()?;
        let field =
            if cfg!(target_os = "macos") { text.split_whitespace().last() } else { text.trim().split(':').nth(2) };
        field?.parse().ok()
    })
}

/// Copies this binary to `<prefix>/bin/ccbreaker`: root-owned, group `gid`, setgid (mode 2755), replaced
/// atomically; and `ccbreaker-net` from beside it to beside it, root's (mode 0755, not setgid: it gets the group
/// only when the locked binary runs it, for `reconcile` and `prices update` from a URL).
fn install_binary(prefix: &Path, gid: u32, steps: &mut Steps) -> Result<PathBuf, LockedError> {
    let exe = std::env::current_exe().map_err(file_err("find the path of", Path::new("ccbreaker")))?;
    let dir = prefix.join("bin");
    fs::create_dir_all(&dir).map_err(file_err("create", &dir))?;
    let dir = fs::canonicalize(&dir).map_err(file_err("resolve", &dir))?;
    let dest = dir.join("ccbreaker");
    copy_root_owned(&exe, &dest, gid, 0o2755)?;
    steps.push(format!("installed {} (root:{GROUP}, setgid, mode 2755)", dest.display()));
    let (net, net_dest) = (crate::paths::net_binary_beside(&exe), crate::paths::net_binary_beside(&dest));
    if net.is_file() {
        copy_root_owned(&net, &net_dest, 0, 0o755)?;
        steps.push(format!("installed {} (root's, mode 0755)", net_dest.display()));
    } else {
        steps.push(format!(
            "{} is not beside {}: `reconcile` and `prices update` from a URL need it at {}",
            crate::paths::NET_BINARY,
            exe.display(),
            net_dest.display()
        ));
    }
    Ok(dest)
}

/// Copies `from` to `dest` as root's, of group `gid`, with `mode`, replacing `dest` atomically.
fn copy_root_owned(from: &Path, dest: &Path, gid: u32, mode: u32) -> Result<(), LockedError> {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dest.with_file_name(format!(".{name}.install.{}", std::process::id()));
    fs::copy(from, &temp).map_err(file_err("copy the binary to", &temp))?;
    // The owner first: changing it clears the setgid bit.
    let done = chown(&temp, Some(0), Some(gid))
        .map_err(file_err("change the owner of", &temp))
        .and_then(|()| set_mode(&temp, mode))
        .and_then(|()| fs::rename(&temp, dest).map_err(file_err("install", dest)));
    if done.is_err() {
        let _ = fs::remove_file(&temp);
    }
    done
}

/// Writes ccbreaker's mod for the locked `binary` into `<prefix>/lib/ccbreaker/mod`: root's, every folder mode 0755
/// and every file 0644 (the client reads it as the user), its ancestors root's alone.
fn install_mod(prefix: &Path, binary: &Path, steps: &mut Steps) -> Result<PathBuf, LockedError> {
    let lib = prefix.join("lib");
    fs::create_dir_all(&lib).map_err(file_err("create", &lib))?;
    let lib = fs::canonicalize(&lib).map_err(file_err("resolve", &lib))?;
    let dir = lib.join("ccbreaker").join("mod");
    for folder in [lib.join("ccbreaker"), dir.clone()] {
        ensure_dir(&folder, 0, 0o755)?;
    }
    crate::install::write_mod(&dir, binary).map_err(|e| LockedError::Setup(crate::error::report(&e)))?;
    for (name, _) in crate::install::mods::files(binary) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            ensure_dir(parent, 0, 0o755)?;
        }
        chown(&path, Some(0), Some(0)).map_err(file_err("change the owner of", &path))?;
        set_mode(&path, 0o644)?;
    }
    secure_ancestors(&dir.join("mod"))?;
    steps.push(format!("installed ccbreaker's mod in {} (root's, seated by the managed settings)", dir.display()));
    Ok(dir)
}

/// Every directory above the binary must be root's and writable by no one else, or the binary could be replaced.
fn secure_ancestors(binary: &Path) -> Result<(), LockedError> {
    use std::os::unix::fs::MetadataExt;
    for dir in binary.ancestors().skip(1) {
        let meta = fs::metadata(dir).map_err(file_err("read", dir))?;
        if meta.uid() != 0 || meta.mode() & 0o022 != 0 {
            return Err(LockedError::Setup(format!(
                "`{}` is not owned by root or is writable by others: a user could replace the binary there; choose \
                 another --prefix",
                dir.display()
            )));
        }
    }
    Ok(())
}
