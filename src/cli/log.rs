//! `ccbreaker log`: the audit trail of blocks and overrides, newest last.

use super::Io;
use super::args::Args;
use crate::audit;
use crate::error::{Error, exit};

pub(super) fn log(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let json = args.flag("--json");
    let limit = match args.value("--limit")? {
        None => 50,
        Some(n) => {
            n.parse::<usize>().map_err(|_| Error::usage(format!("`--limit` takes a whole number, got {n:?}")))?
        }
    };
    args.finish()?;
    let state = super::place(io, "log")?.state_dir;
    let entries = audit::read(&state).map_err(Error::file("read", audit::path(&state)))?;
    let shown = &entries[entries.len().saturating_sub(limit)..];
    if json {
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(shown).expect("entries serialise"))?;
        return Ok(exit::OK);
    }
    if shown.is_empty() {
        writeln!(io.stdout, "no blocks or overrides recorded in {}", audit::path(&state).display())?;
    }
    for e in shown {
        let kind = e.kind.as_str();
        let what = [e.event.as_deref(), e.tool.as_deref(), e.agent_id.as_deref().map(|_| "subagent")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        writeln!(
            io.stdout,
            "{} {kind:<6} {} {what}\n    {}",
            e.at.format("%Y-%m-%d %H:%M:%SZ"),
            e.session.as_deref().unwrap_or("-"),
            e.detail
        )?;
    }
    Ok(exit::OK)
}
