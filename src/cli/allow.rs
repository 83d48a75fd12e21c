//! `ccbreaker allow`: a human lifts a block by granting a session more money. It refuses to run from inside a
//! Claude Code tool call, so the agent under guard cannot lift its own limit; in locked mode it needs root, and
//! writes root's grants where the hook only reads them.

use super::Io;
use super::args::Args;
use crate::audit;
use crate::error::{Error, exit};
use crate::files::{self, Durability};
use crate::ledger::store::{Allowance, Allowances};
use crate::locked::{self, LockedError};
use crate::usage::Pico;

pub(super) fn allow(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let session = args.value("--session")?.ok_or_else(|| Error::usage("`allow` needs `--session ID`"))?;
    let add = args.value("--add-usd")?;
    let user = args.value("--user")?;
    let human = args.flag("--i-am-human");
    args.finish()?;
    super::refuse_inside_claude_code(io, "allow", human)?;
    let place = crate::place::Place::resolve(io.env)?;
    if place.is_locked() {
        locked::require_root("`allow`", &format!("allow --session {session}"))?;
    }
    let config = super::config(&place, io)?;
    let usd = match add {
        None => config.budget.suggested_extra(),
        Some(text) => match text.trim().parse::<f64>() {
            Ok(usd) if usd.is_finite() && usd >= 0.0 => usd,
            _ => return Err(Error::usage(format!("`--add-usd` must be a number of USD (0 or more), got {text:?}"))),
        },
    };
    let now = super::now(&place.env)?;
    let (extra, known) = match place.mode.install() {
        Some(install) => {
            let uid = target_uid(user.as_deref(), io)?;
            (grant_as_root(&install.grants_file(uid), &session, usd, now)?, None)
        }
        None => {
            if user.is_some() {
                return Err(Error::usage("`--user` is for locked mode, where root grants for a user"));
            }
            let (mut locked, _) = super::status::refresh(&config, &place, io, now)?;
            let grant = locked.allowances.sessions.entry(session.clone()).or_insert_with(Allowance::default);
            grant.extra = grant.extra.saturating_add(Pico::from_usd(usd));
            grant.granted_at = Some(now);
            let extra = grant.extra;
            locked.save_allowances()?;
            let known = locked.ledger.sessions.contains_key(&session);
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
            let _ = audit::append(&place.state_dir, &entry);
            (extra, Some(known))
        }
    };
    let b = &config.budget;
    let limit =
        |usd: f64| if usd > 0.0 { (Pico::from_usd(usd).saturating_add(extra)).to_string() } else { "off".to_owned() };
    writeln!(
        io.stdout,
        "ccbreaker: session {session} may spend {} more: its session limit is now {}, and its daily limit {}.",
        Pico::from_usd(usd),
        limit(b.session_usd),
        limit(b.daily_usd)
    )?;
    if known == Some(false) {
        writeln!(io.stderr, "ccbreaker: note: no spend is recorded for session {session} yet")?;
    }
    Ok(exit::OK)
}

/// Whose session root is granting for: `--user NAME|UID`, else the user who ran `sudo` (`SUDO_UID`).
fn target_uid(user: Option<&str>, io: &Io) -> Result<u32, Error> {
    let missing = || Error::usage("in locked mode, say whose session it is: `sudo ccbreaker allow ... --user NAME`");
    let Some(user) = user.or(io.env.sudo_uid.as_deref()) else { return Err(missing()) };
    if let Ok(uid) = user.parse::<u32>() {
        return Ok(uid);
    }
    let output = std::process::Command::new("id").args(["-u", user]).output();
    let uid = output.ok().filter(|o| o.status.success()).and_then(|o| String::from_utf8(o.stdout).ok());
    uid.and_then(|u| u.trim().parse().ok()).ok_or_else(|| Error::usage(format!("no such user: {user:?}")))
}

/// Adds a grant to root's grants file for the user (root-owned, readable by the hook); returns the session's
/// total extra.
fn grant_as_root(
    path: &std::path::Path,
    session: &str,
    usd: f64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Pico, Error> {
    let file_err = |action: &'static str| {
        let path = path.to_path_buf();
        move |source| Error::from(LockedError::File { action, path, source })
    };
    let mut grants: Allowances = match files::read_optional(path).map_err(file_err("read"))? {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        None => Allowances::default(),
    };
    let grant = grants.sessions.entry(session.to_owned()).or_default();
    grant.extra = grant.extra.saturating_add(Pico::from_usd(usd));
    grant.granted_at = Some(now);
    let extra = grant.extra;
    let bytes = serde_json::to_vec_pretty(&grants).expect("grants serialise");
    files::write_atomic(path, &bytes, Durability::Synced, None).map_err(file_err("write"))?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(file_err("set the mode of"))?;
    Ok(extra)
}
