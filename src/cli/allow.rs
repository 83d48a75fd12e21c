//! `ccbreaker allow`: a human lifts a block by granting a session more money. It refuses to run from inside a
//! Claude Code tool call, so the agent under guard cannot lift its own limit; in locked mode it needs root, and
//! writes root's grants where the hook only reads them.

use super::Io;
use super::args::Args;
use crate::audit;
use crate::error::{Error, exit};
use crate::files::{self, Durability};
use crate::ledger::store::{Allowance, Allowances, Store};
use crate::locked::{self, LockedError};
use crate::usage::Pico;

pub(super) fn allow(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    if args.flag("--list") {
        let json = args.flag("--json");
        let user = args.value("--user")?;
        args.finish()?;
        return list(json, user.as_deref(), io);
    }
    if let Some(session) = args.value("--revoke")? {
        let user = args.value("--user")?;
        let human = args.flag("--i-am-human");
        args.finish()?;
        return revoke(&session, user.as_deref(), human, io);
    }
    let session = args.value("--session")?.ok_or_else(|| {
        Error::usage("`allow` needs `--session ID` (or `--list`, or `--revoke ID`); the id is in the block message and in `ccbreaker status`")
    })?;
    let add = args.value("--add-usd")?;
    let user = args.value("--user")?;
    let human = args.flag("--i-am-human");
    let force = args.flag("--force");
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
    let unknown = || {
        Error::Failed(format!(
            "no session `{session}` is known: it has spent nothing today or yesterday and holds no grant. Check the id \
             (`ccbreaker status` lists the sessions, the block message names it), or pass --force to grant it anyway"
        ))
    };
    let extra = match place.mode.install() {
        Some(install) => {
            let uid = target_uid(user.as_deref(), io)?;
            let grants = install.grants_file(uid);
            let ledger = Store::at(&install.state_root.join(uid.to_string())).peek();
            let known = ledger.is_some_and(|l| l.sessions.contains_key(&session))
                || read_grants(&grants)?.sessions.contains_key(&session);
            if !known && !force {
                return Err(unknown());
            }
            grant_as_root(&grants, &session, usd, now)?
        }
        None => {
            if user.is_some() {
                return Err(Error::usage("`--user` is for locked mode, where root grants for a user"));
            }
            let (mut locked, _) = super::status::refresh(&config, &place, io, now, crate::sync::Scan::Now)?;
            let known =
                locked.ledger.sessions.contains_key(&session) || locked.allowances.sessions.contains_key(&session);
            if !known && !force {
                return Err(unknown());
            }
            let grant = locked.allowances.sessions.entry(session.clone()).or_insert_with(Allowance::default);
            grant.extra = grant.extra.saturating_add(Pico::from_usd(usd));
            grant.granted_at = Some(now);
            let extra = grant.extra;
            locked.save_allowances()?;
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
            extra
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
    Ok(exit::OK)
}

/// The grants in force: this mode's allowances (locked mode: root's grants for the user).
fn grants_path(place: &crate::place::Place, user: Option<&str>, io: &Io) -> Result<std::path::PathBuf, Error> {
    Ok(match place.mode.install() {
        Some(install) => {
            let uid = match user {
                Some(_) => target_uid(user, io)?,
                None if locked::is_root() => target_uid(None, io)?,
                None => locked::real_uid(),
            };
            install.grants_file(uid)
        }
        None => place.state_dir.join("allowances.json"),
    })
}

fn read_grants(path: &std::path::Path) -> Result<Allowances, Error> {
    let file_err = |source| Error::File { action: "read", path: path.to_path_buf(), source };
    match files::read_optional(path).map_err(file_err)? {
        None => Ok(Allowances::default()),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|err| Error::Failed(format!("`{}` is not valid JSON ({err}): fix it by hand", path.display()))),
    }
}

/// `allow --list [--json]`.
fn list(json: bool, user: Option<&str>, io: &mut Io) -> Result<u8, Error> {
    let place = crate::place::Place::resolve(io.env)?;
    let path = grants_path(&place, user, io)?;
    let grants = read_grants(&path)?;
    if json {
        let rows: Vec<serde_json::Value> = grants
            .sessions
            .iter()
            .map(|(id, g)| {
                serde_json::json!({
                    "session_id": id,
                    "extra_usd": g.extra.usd_for_json(),
                    "granted_at": g.granted_at.map(crate::text::rfc3339),
                })
            })
            .collect();
        let out = serde_json::json!({ "file": path.display().to_string(), "grants": rows });
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&out).expect("grants serialise"))?;
        return Ok(exit::OK);
    }
    if grants.sessions.is_empty() {
        writeln!(io.stdout, "no grants in {}", path.display())?;
    }
    for (id, g) in &grants.sessions {
        let at = g.granted_at.map(crate::text::rfc3339).unwrap_or_default();
        writeln!(io.stdout, "{id}  +{}  (last granted {at})", g.extra)?;
    }
    Ok(exit::OK)
}

/// `allow --revoke ID`: the session's grants are taken back; its budgets are as configured again from its next call.
fn revoke(session: &str, user: Option<&str>, human: bool, io: &mut Io) -> Result<u8, Error> {
    super::refuse_inside_claude_code(io, "allow --revoke", human)?;
    let place = crate::place::Place::resolve(io.env)?;
    if place.is_locked() {
        locked::require_root("`allow --revoke`", &format!("allow --revoke {session}"))?;
    }
    let none = || Error::Failed(format!("session `{session}` holds no grant (`ccbreaker allow --list` shows them)"));
    let grant = if place.is_locked() {
        let path = grants_path(&place, user, io)?;
        let mut grants = read_grants(&path)?;
        let grant = grants.sessions.remove(session).ok_or_else(none)?;
        let bytes = serde_json::to_vec_pretty(&grants).expect("grants serialise");
        files::write_atomic(&path, &bytes, Durability::Synced, std::fs::metadata(&path).ok().as_ref())
            .map_err(Error::file("write", &path))?;
        grant
    } else {
        // Under the ledger's lock, as `allow` grants.
        let config = super::config(&place, io)?;
        let (mut locked, _) =
            super::status::refresh(&config, &place, io, super::now(&place.env)?, crate::sync::Scan::Now)?;
        let grant = locked.allowances.sessions.remove(session).ok_or_else(none)?;
        locked.save_allowances()?;
        locked.save()?;
        grant
    };
    if !place.is_locked() {
        let entry = audit::Entry {
            at: super::now(&place.env)?,
            kind: audit::Kind::Revoke,
            session: Some(session.to_owned()),
            agent_id: None,
            event: None,
            tool: None,
            detail: format!("{} taken back", grant.extra),
        };
        let _ = audit::append(&place.state_dir, &entry);
    }
    writeln!(
        io.stdout,
        "ccbreaker: session {session}'s grants ({}) are taken back; its budgets are as configured again",
        grant.extra
    )?;
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
