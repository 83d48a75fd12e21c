//! `ccbreaker install` / `uninstall`: register or remove the hook in a Claude Code settings file, printing what
//! changed (or, with `--dry-run`, the file that would be written).

use super::Io;
use super::args::Args;
use crate::config;
use crate::error::{Error, exit};
use crate::install::{self, ModEntry, Outcome, Scope, Status};
use crate::locked::{self, Mode};
use crate::paths;

pub(super) fn install(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    if args.flag("--locked") {
        let prefix = args.value("--prefix")?.unwrap_or_else(|| "/usr/local".to_owned());
        args.finish()?;
        return install_locked(std::path::Path::new(&prefix), io);
    }
    let (scope, dry_run) = scope_and_dry_run(&mut args)?;
    let with_statusline = args.flag("--statusline");
    let force = args.flag("--force");
    args.finish()?;
    if force && !with_statusline {
        return Err(Error::usage("`--force` goes with `--statusline` (it replaces another statusline)"));
    }
    let config_path = paths::config_file(io.env);
    let loaded = config::load(&config_path)?;
    let fail_closed = fail_closed(io)?;
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(Error::file("find the path of", "ccbreaker"))?;
    // A checked-in file must work for every teammate: it runs `ccbreaker` by name, from each one's PATH.
    let (command, line) = if scope == Scope::Project {
        (install::command_by_name("hook"), install::command_by_name("statusline"))
    } else {
        (install::hook_command(&binary)?, install::statusline_command(&binary)?)
    };
    let path = settings_path(scope, io)?;
    if let Mode::Locked(locked) = Mode::detect()? {
        // The managed settings hold the hooks and the mod already: a user's settings would run each of them twice.
        if !with_statusline {
            return Err(Error::Failed(format!(
                "locked mode: the hooks are in the managed settings already (`{}`); `{} install --statusline` adds \
                 the statusline to your settings",
                locked.managed_settings.display(),
                locked.binary.display()
            )));
        }
        let line = install::statusline_command(&locked.binary)?;
        let outcome = install::install_statusline(&path, &line, force, dry_run)?;
        report(&outcome, "installed", io)?;
        return Ok(exit::OK);
    }
    // The mod loads from user settings only (Claude Code reads `CLAUDE_CODE_PLUGIN_DIRS` nowhere else); its files
    // go first, so the settings never name a folder that is not there.
    let mod_dir = (scope == Scope::User).then(|| paths::mod_dir(io.env));
    let mod_text = mod_dir.as_deref().map(mod_dir_text).transpose()?;
    if let (Some(dir), false) = (&mod_dir, dry_run) {
        install::write_mod(dir, &binary)?;
    }
    let entry = mod_text.as_deref().map_or(ModEntry::None, ModEntry::PluginDir);
    let statusline = with_statusline.then_some((line.as_str(), force));
    let outcome = install::install(&path, &command, fail_closed, entry, statusline, dry_run)?;
    report(&outcome, "installed", io)?;
    match &mod_dir {
        Some(dir) if !dry_run => writeln!(
            io.stdout,
            "ccbreaker's mod (asks before every model request; Claude Code 2.1.331 and later) is in {}",
            dir.display()
        )?,
        Some(_) => {}
        None => writeln!(
            io.stderr,
            "ccbreaker: note: ccbreaker's mod, which asks before every model request, loads from user settings only: \
             run `ccbreaker install` (user scope) to add it; the hooks guard this project meanwhile"
        )?,
    }
    if scope == Scope::Project {
        let on_path = paths::is_on_path(io.env, &binary);
        writeln!(
            io.stderr,
            "ccbreaker: project scope: the hooks run `ccbreaker hook` by name, so everyone working in this project needs \
             ccbreaker on their PATH ({}); `ccbreaker doctor` checks it",
            if on_path {
                "it is on yours".to_owned()
            } else {
                format!(
                    "it is not on yours: add {} to PATH",
                    binary.parent().map(|d| d.display().to_string()).unwrap_or_default()
                )
            }
        )?;
    }
    if !dry_run {
        let b = &loaded.config.budget;
        let usd = |x: f64| if x > 0.0 { format!("${x:.2}") } else { "off".to_owned() };
        writeln!(
            io.stdout,
            "ccbreaker guards new Claude Code sessions: session budget {}, daily budget {} ({}). Config: {}{}",
            usd(b.session_usd),
            usd(b.daily_usd),
            b.timezone.name(),
            config_path.display(),
            if loaded.exists { "" } else { " (not created yet: defaults apply; `ccbreaker config init` writes one)" }
        )?;
    }
    Ok(exit::OK)
}

pub(super) fn uninstall(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    if args.flag("--locked") {
        args.finish()?;
        for step in locked::setup::uninstall()? {
            writeln!(io.stdout, "{step}")?;
        }
        return Ok(exit::OK);
    }
    let (scope, dry_run) = scope_and_dry_run(&mut args)?;
    let human = args.flag("--i-am-human");
    args.finish()?;
    if !dry_run {
        super::refuse_inside_claude_code(io, "uninstall", human)?;
        if Mode::detect()? != Mode::User {
            locked::require_root("`uninstall`", "uninstall --locked")?;
        }
    }
    let path = settings_path(scope, io)?;
    let mod_dir = (scope == Scope::User).then(|| paths::mod_dir(io.env));
    let mod_text = mod_dir.as_deref().map(mod_dir_text).transpose()?;
    let entry = mod_text.as_deref().map_or(ModEntry::None, ModEntry::PluginDir);
    let outcome = install::uninstall(&path, entry, dry_run)?;
    report(&outcome, "removed", io)?;
    if let (Some(dir), false) = (&mod_dir, dry_run)
        && install::remove_mod(dir)? > 0
    {
        writeln!(io.stdout, "removed ccbreaker's mod from {}", dir.display())?;
    }
    Ok(exit::OK)
}

/// `sudo ccbreaker install --locked`: sets locked mode up, then shows whether its boundary holds.
fn install_locked(prefix: &std::path::Path, io: &mut Io) -> Result<u8, Error> {
    let (install, steps) = locked::setup::install(prefix, fail_closed(io)?)?;
    for step in steps {
        writeln!(io.stdout, "{step}")?;
    }
    let checks = locked::checks::run(&install);
    for c in &checks {
        writeln!(io.stdout, "{} {}", if c.ok { "ok  " } else { "FAIL" }, c.what)?;
    }
    if checks.iter().all(|c| c.ok) {
        writeln!(io.stdout, "locked mode is on: new Claude Code sessions of every user on this machine are guarded")?;
        Ok(exit::OK)
    } else {
        writeln!(io.stderr, "ccbreaker: locked mode is installed, but its boundary does not hold (see FAIL above)")?;
        Ok(exit::ERROR)
    }
}

/// Whether the hook entries get `"onFailure": "block"` (a hook that crashes, hangs or is killed then denies the call
/// instead of letting it through). Claude Code honours it from 2.1.295 on; 2.1.240 accepts the key and ignores it
/// (measured), so it is written unless the `claude` on PATH is known to be older, which is said.
/// The mod, too, is written whatever the client: one that has no mods ignores it (measured on 2.1.240), which is said.
fn fail_closed(io: &mut Io) -> Result<bool, Error> {
    let Some(version) = install::client::version() else { return Ok(true) };
    let name = install::client::show(version);
    if version < install::client::ON_FAILURE_SINCE {
        writeln!(
            io.stderr,
            "ccbreaker: note: Claude Code {name} ignores \"onFailure\": \"block\" (2.1.295 and later honour it): a hook \
             that is killed or hangs lets its call through; it is written anyway and applies once you update"
        )?;
    }
    if version < install::client::MODS_SINCE {
        writeln!(
            io.stderr,
            "ccbreaker: note: Claude Code {name} runs no mods (ccbreaker's is measured on 2.1.331): its hooks guard \
             alone, and the mod, written anyway, asks before every request once you update"
        )?;
    }
    Ok(true)
}

/// The mod's folder as `CLAUDE_CODE_PLUGIN_DIRS` names it: text, without the list's separator.
fn mod_dir_text(dir: &std::path::Path) -> Result<String, Error> {
    match dir.to_str() {
        Some(text) if !text.contains(':') => Ok(text.to_owned()),
        _ => Err(Error::Failed(format!(
            "ccbreaker's mod folder `{}` cannot be named in CLAUDE_CODE_PLUGIN_DIRS (it is not UTF-8 or holds `:`): \
             set XDG_DATA_HOME to another directory",
            dir.display()
        ))),
    }
}

fn scope_and_dry_run(args: &mut Args) -> Result<(Scope, bool), Error> {
    let scope = match args.value("--scope")? {
        None => Scope::User,
        Some(s) => s.parse().map_err(|e: install::InstallError| Error::usage(e.to_string()))?,
    };
    Ok((scope, args.flag("--dry-run")))
}

fn settings_path(scope: Scope, io: &Io) -> Result<std::path::PathBuf, Error> {
    let cwd = std::env::current_dir().map_err(Error::file("read", "the current directory"))?;
    Ok(install::settings_path(scope, io.env, &cwd)?)
}

fn report(outcome: &Outcome, verb: &str, io: &mut Io) -> Result<(), Error> {
    let file = outcome.path.display();
    for kept in outcome.changes.iter().filter(|c| matches!(c.change, install::Change::Kept(_))) {
        writeln!(io.stderr, "ccbreaker: {file}: {kept}")?;
    }
    match &outcome.status {
        Status::Unchanged => writeln!(io.stdout, "{file}: already {verb}, nothing to do")?,
        Status::DryRun { json } => {
            for change in &outcome.changes {
                writeln!(io.stderr, "would change {change}")?;
            }
            write!(io.stdout, "{json}")?;
        }
        Status::Written { backup } => {
            for change in outcome.changes.iter().filter(|c| !matches!(c.change, install::Change::Kept(_))) {
                writeln!(io.stdout, "{file}: {change}")?;
            }
            if let Some(backup) = backup {
                writeln!(io.stdout, "previous settings saved as {}", backup.display())?;
            }
        }
    }
    Ok(())
}
