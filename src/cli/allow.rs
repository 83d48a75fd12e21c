//! `ccbreaker allow`: a human lifts a block by granting a session more money. It refuses to run from inside a
//! Claude Code tool call, so the agent under guard cannot lift its own limit.

use super::Io;
use super::args::Args;
use crate::audit;
use crate::config;
use crate::error::{Error, exit};
use crate::ledger::store::Allowance;
use crate::paths;
use crate::usage::Pico;

pub(super) fn allow(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let session = args.value("--session")?.ok_or_else(|| Error::usage("`allow` needs `--session ID`"))?;
    let add = args.value("--add-usd")?;
    let human = args.flag("--i-am-human");
    args.finish()?;
    super::refuse_inside_claude_code(io, "allow", human)?;
    let config_path = paths::config_file(io.env);
    let loaded = config::load(&config_path)?;
    let usd = match add {
        None => loaded.config.budget.suggested_extra(),
        Some(text) => match text.trim().parse::<f64>() {
            Ok(usd) if usd.is_finite() && usd > 0.0 => usd,
            _ => return Err(Error::usage(format!("`--add-usd` must be a positive number of USD, got {text:?}"))),
        },
    };
    let now = super::now(io.env)?;
    let (mut locked, _) = super::status::refresh(&loaded.config, &config_path, io.env, now)?;
    let grant = locked.allowances.sessions.entry(session.clone()).or_insert_with(Allowance::default);
    grant.extra = grant.extra.saturating_add(Pico::from_usd(usd));
    grant.granted_at = Some(now);
    let extra = grant.extra;
    locked.save_allowances()?;
    let known = locked.ledger.sessions.contains_key(&session);
    if let Some(spend) = locked.ledger.sessions.get_mut(&session) {
        spend.warned_session = false;
        spend.warned_day = None;
        spend.blocked_since = None;
    }
    locked.save()?;
    let entry = audit::Entry {
        at: now,
        kind: audit::Kind::Allow,
        session: Some(session.clone()),
        agent_id: None,
        event: None,
        tool: None,
        detail: format!("+{} granted; {} in all", Pico::from_usd(usd), extra),
    };
    let _ = audit::append(&paths::state_dir(io.env), &entry);
    let b = &loaded.config.budget;
    let limit =
        |usd: f64| if usd > 0.0 { (Pico::from_usd(usd).saturating_add(extra)).to_string() } else { "off".to_owned() };
    writeln!(
        io.stdout,
        "ccbreaker: session {session} may spend {} more: its session limit is now {}, and its daily limit {}.",
        Pico::from_usd(usd),
        limit(b.session_usd),
        limit(b.daily_usd)
    )?;
    if !known {
        writeln!(io.stderr, "ccbreaker: note: no spend is recorded for session {session} yet")?;
    }
    Ok(exit::OK)
}
