//! `ccbreaker exec -- COMMAND...`: runs an unattended command (`claude -p ...`, a script that runs it) so that a run
//! ccbreaker halted looks halted: exit 3 and the block reason on stderr, instead of the client's exit 0 and nothing.
//! The sessions are the command's own, identified exactly: every hook of a session started under the command sees
//! the run id `exec` put in its environment and records itself, and its halt, in the run's record (`crate::runs`).

use super::Io;
use super::args::Args;
use crate::env::CCBREAKER_RUN_ID;
use crate::error::{Error, exit};
use crate::ledger::store::Store;
use crate::runs::{self, Halt};
use std::collections::BTreeSet;

pub(super) fn exec(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let Some(command) = args.after_separator().filter(|c| !c.is_empty()) else {
        return Err(Error::usage("`exec` needs the command after `--`: ccbreaker exec -- claude -p \"...\""));
    };
    args.finish()?;
    let place = super::place(io, "exec")?;
    let state_dir = place.state_dir.clone();
    crate::files::create_private_dir(&state_dir).map_err(Error::file("create the state directory", &state_dir))?;
    let id = runs::start(&state_dir).map_err(Error::file("start a run record in", state_dir.join("runs")))?;
    let status = std::process::Command::new(&command[0]).args(&command[1..]).env(CCBREAKER_RUN_ID, &id).status();
    let run = runs::read(&state_dir, &id);
    runs::finish(&state_dir, &id);
    let status = status.map_err(|source| Error::File { action: "run", path: command[0].clone().into(), source })?;
    let run = run.map_err(Error::file("read the run record in", state_dir.join("runs")))?;
    let halts = halts(&run, &Store::at(&state_dir));
    if halts.is_empty() {
        return Ok(code(&status));
    }
    for halt in &halts {
        let by = match halt.by.as_str() {
            "gate" => "ccbreaker's gate".to_owned(),
            _ => "ccbreaker's hook".to_owned(),
        };
        let event = halt.event.as_deref().map(|e| format!(" at {e}")).unwrap_or_default();
        writeln!(
            io.stderr,
            "ccbreaker: halted: session {} was stopped by {by}{event} ({}): {}",
            halt.session,
            crate::text::rfc3339(halt.at),
            halt.reason
        )?;
    }
    Ok(exit::HALTED)
}

/// The run's halts, one per session (its first), then every session of the run that the ledger shows blocked or
/// tampered without a recorded halt (a halt whose record was lost still counts).
fn halts(run: &runs::Run, store: &Store) -> Vec<Halt> {
    let mut seen = BTreeSet::new();
    let mut halts: Vec<Halt> = run.halts.iter().filter(|h| seen.insert(h.session.clone())).cloned().collect();
    let Some(ledger) = store.peek() else { return halts };
    for session in run.sessions.iter().filter(|s| !seen.contains(*s)) {
        let Some(spend) = ledger.sessions.get(session) else { continue };
        let at = match (&spend.tampered, spend.blocked_since) {
            (Some(t), _) => t.at,
            (None, Some(at)) => at,
            (None, None) => continue,
        };
        halts.push(Halt {
            session: session.clone(),
            at,
            by: "hook".to_owned(),
            event: None,
            reason: "the session is blocked (see `ccbreaker status`)".to_owned(),
        });
    }
    halts
}

/// The command's exit code; killed by a signal, 128 + its number, as a shell reports it.
fn code(status: &std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(exit::ERROR);
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(status) {
        return u8::try_from(128 + signal).unwrap_or(exit::ERROR);
    }
    exit::ERROR
}
