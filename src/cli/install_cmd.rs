//! `ccbreaker install` / `uninstall`: register or remove the hook in a Claude Code settings file, printing what
//! changed (or, with `--dry-run`, the file that would be written).

use super::args::Args;
use super::{Failure, Io};
use crate::config::{self, OnError};
use crate::hook::output::exit;
use crate::install::{self, Outcome, Scope, Status};
use crate::paths;
use std::error::Error;

pub(super) fn install(mut args: Args, io: &mut Io) -> Result<u8, Failure> {
    let (scope, dry_run) = scope_and_dry_run(&mut args)?;
    args.finish()?;
    let config_path = paths::config_file(io.env);
    let loaded = config::load(&config_path).map_err(|e| Failure::error(format!("{e}; fix it before installing")))?;
    let fail_closed = loaded.config.policy.on_error == OnError::Block;
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Failure::error(format!("could not find the ccbreaker binary's own path: {e}")))?;
    let command = install::hook_command(&binary).map_err(chain)?;
    let path = settings_path(scope, io)?;
    let outcome = install::install(&path, &command, fail_closed, dry_run).map_err(chain)?;
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

pub(super) fn uninstall(mut args: Args, io: &mut Io) -> Result<u8, Failure> {
    let (scope, dry_run) = scope_and_dry_run(&mut args)?;
    let human = args.flag("--i-am-human");
    args.finish()?;
    if !dry_run {
        super::refuse_inside_claude_code(io, "uninstall", human)?;
    }
    let path = settings_path(scope, io)?;
    let outcome = install::uninstall(&path, dry_run).map_err(chain)?;
    report(&outcome, "removed", io)?;
    Ok(exit::OK)
}

fn scope_and_dry_run(args: &mut Args) -> Result<(Scope, bool), Failure> {
    let scope = match args.value("--scope")? {
        None => Scope::User,
        Some(s) => s.parse().map_err(|e: install::InstallError| Failure::usage(e.to_string()))?,
    };
    Ok((scope, args.flag("--dry-run")))
}

fn settings_path(scope: Scope, io: &Io) -> Result<std::path::PathBuf, Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::error(format!("could not read the current directory: {e}")))?;
    install::settings_path(scope, io.env, &cwd).map_err(chain)
}

fn report(outcome: &Outcome, verb: &str, io: &mut Io) -> Result<(), Failure> {
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

/// An error with its causes, e.g. "`x` is not valid JSON (line 3, column 5): expected `,`".
fn chain(err: impl Error) -> Failure {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    Failure::error(message)
}
