//! `ccbreaker install` / `uninstall`: register or remove the hook in a Claude Code settings file, printing what
//! changed (or, with `--dry-run`, the file that would be written).

use super::Io;
use super::args::Args;
use crate::config::{self, OnError};
use crate::error::{Error, exit};
use crate::install::{self, Outcome, Scope, Status};
use crate::paths;

pub(super) fn install(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let (scope, dry_run) = scope_and_dry_run(&mut args)?;
    args.finish()?;
    let config_path = paths::config_file(io.env);
    let loaded = config::load(&config_path)?;
    let fail_closed = loaded.config.policy.on_error == OnError::Block;
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(Error::file("find the path of", "ccbreaker"))?;
    let command = install::hook_command(&binary)?;
    let path = settings_path(scope, io)?;
    let outcome = install::install(&path, &command, fail_closed, dry_run)?;
    report(&outcome, "installed", io)?;
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
    let (scope, dry_run) = scope_and_dry_run(&mut args)?;
    let human = args.flag("--i-am-human");
    args.finish()?;
    if !dry_run {
        super::refuse_inside_claude_code(io, "uninstall", human)?;
    }
    let path = settings_path(scope, io)?;
    let outcome = install::uninstall(&path, dry_run)?;
    report(&outcome, "removed", io)?;
    Ok(exit::OK)
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
    match &outcome.status {
        Status::Unchanged => writeln!(io.stdout, "{file}: already {verb}, nothing to do")?,
        Status::DryRun { json } => {
            for change in &outcome.changes {
                writeln!(io.stderr, "would change {change}")?;
            }
            write!(io.stdout, "{json}")?;
        }
        Status::Written { backup } => {
            for change in &outcome.changes {
                writeln!(io.stdout, "{file}: {change}")?;
            }
            if let Some(backup) = backup {
                writeln!(io.stdout, "previous settings saved as {}", backup.display())?;
            }
        }
    }
    Ok(())
}
