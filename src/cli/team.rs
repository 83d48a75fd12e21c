//! `ccbreaker team status [--json]`: the team's day, month and members from its Redis server (one read, within
//! `team.timeout_ms`), the budgets, and how this machine's pushes stand. The server's credentials are never shown.

use super::Io;
use super::args::Args;
use crate::error::{Error, exit};
use crate::team::{Saved, Setup, Totals};
use crate::usage::Pico;
use serde::Serialize;

#[derive(Serialize)]
struct Status {
    team: String,
    member: String,
    /// `redis://host:port/db`, never with credentials.
    server: String,
    day: Day,
    month: Month,
    members: Vec<Member>,
    budgets: Budgets,
    /// When this machine last reached the server (a hook call or this command), RFC 3339.
    last_sync: Option<String>,
    reachable: bool,
    /// Why the server could not be reached, if it could not.
    error: Option<String>,
    round_trip_ms: Option<f64>,
    /// Responses this machine counted that the server has not got yet (as of its last hook call).
    pending: u64,
}

#[derive(Serialize)]
struct Day {
    date: Option<String>,
    cost_usd: f64,
}

#[derive(Serialize)]
struct Month {
    month: String,
    cost_usd: f64,
}

#[derive(Serialize)]
struct Member {
    member: String,
    cost_usd: f64,
}

#[derive(Serialize)]
struct Budgets {
    /// `null`: the scope is off.
    daily_usd: Option<f64>,
    monthly_usd: Option<f64>,
    member_daily_usd: Option<f64>,
    on_unreachable: &'static str,
    timezone: String,
}

pub(super) fn team(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    match args.next_word()?.as_deref() {
        Some("status") => {}
        Some(other) => return Err(Error::usage(format!("`ccbreaker team` runs `status`, not `{other}`"))),
        None => return Err(Error::usage("`ccbreaker team` needs a subcommand: `ccbreaker team status`".to_owned())),
    }
    let json = args.flag("--json");
    args.finish()?;
    let place = super::place(io, "team status")?;
    let config = super::config(&place, io)?;
    let Some(team) = &config.team else {
        return Err(Error::Failed(format!(
            "team mode is off: `{}` has no `[team]` table (see the README's \"Team budgets\")",
            place.config_path.display()
        )));
    };
    let setup = Setup::new(team, &place.env)?;
    let now = super::now(io.env)?;
    let saved = Saved::load(&place.state_dir);
    let started = std::time::Instant::now();
    let today = setup.zone.date_of(now);
    let (totals, reachable, error, round_trip) = match setup.read(today) {
        Ok(totals) => (totals, true, None, Some(started.elapsed().as_secs_f64() * 1000.0)),
        Err(err) => {
            let last = if saved.totals.day == Some(today) { saved.totals.clone() } else { Totals::default() };
            (last, false, Some(crate::error::report(&err)), None)
        }
    };
    let last_sync = if reachable { Some(now) } else { saved.synced_at };
    let usd = |p: Pico| p.usd_for_json();
    let limit = |usd: f64| (usd > 0.0).then_some(usd);
    let status = Status {
        team: setup.name.clone(),
        member: setup.member.clone(),
        server: setup.target.to_string(),
        day: Day { date: Some(today.to_string()), cost_usd: usd(totals.day_cost) },
        month: Month { month: crate::team::month_of(today), cost_usd: usd(totals.month_cost) },
        members: totals.members.iter().map(|(m, c)| Member { member: m.clone(), cost_usd: usd(*c) }).collect(),
        budgets: Budgets {
            daily_usd: limit(team.daily_usd),
            monthly_usd: limit(team.monthly_usd),
            member_daily_usd: limit(team.member_daily_usd),
            on_unreachable: team.on_unreachable.as_str(),
            timezone: setup.zone.name(),
        },
        last_sync: last_sync.map(crate::text::rfc3339),
        reachable,
        error,
        round_trip_ms: round_trip.map(|ms| (ms * 100.0).round() / 100.0),
        pending: saved.pending,
    };
    if json {
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&status).expect("the status serialises"))?;
        return Ok(exit::OK);
    }
    let of = |spent: Pico, usd: Option<f64>| match usd {
        Some(limit) => format!("{spent} of {}", Pico::from_usd(limit)),
        None => format!("{spent} (no budget)"),
    };
    let out = &mut io.stdout;
    writeln!(out, "team {} on {}, as member {}", status.team, status.server, status.member)?;
    match (&status.error, round_trip) {
        (None, Some(ms)) => writeln!(out, "server: reachable, round trip {ms:.2} ms")?,
        (error, _) => writeln!(
            out,
            "server: UNREACHABLE ({}); the totals below are the last read{}",
            error.as_deref().unwrap_or("no answer"),
            saved.synced_at.map(|at| format!(", at {}", crate::text::rfc3339(at))).unwrap_or_default()
        )?,
    }
    writeln!(out, "today ({today}, {}): {}", status.budgets.timezone, of(totals.day_cost, status.budgets.daily_usd))?;
    writeln!(out, "month {}: {}", status.month.month, of(totals.month_cost, status.budgets.monthly_usd))?;
    if totals.members.is_empty() {
        writeln!(out, "members today: none has spent anything")?;
    } else {
        writeln!(out, "members today:")?;
        for (member, cost) in &totals.members {
            writeln!(out, "  {member:<24} {}", of(*cost, status.budgets.member_daily_usd))?;
        }
    }
    let pending = match status.pending {
        0 => "nothing waits to be pushed".to_owned(),
        n => format!("{n} response(s) wait to be pushed"),
    };
    let sync = status.last_sync.as_deref().map(|at| format!("last sync {at}")).unwrap_or("never synced".to_owned());
    writeln!(out, "this machine: {sync}; {pending}; on_unreachable = \"{}\"", status.budgets.on_unreachable)?;
    Ok(exit::OK)
}

/// `ccbreaker-net team-exchange`: a hook's `rediss://` exchange (see `crate::team::resp`): the request on stdin, the
/// replies' bytes on stdout; exit 9 past the deadline, 1 with the reason on stderr.
pub(super) fn exchange_net(io: &mut Io) -> Result<u8, Error> {
    let mut out = Vec::new();
    match crate::team::resp::tls_pipe(io.stdin, &mut out) {
        Ok(()) => {
            io.stdout.write_all(&out)?;
            Ok(exit::OK)
        }
        Err(crate::team::resp::TlsError::TimedOut) => Ok(crate::team::resp::TLS_TIMED_OUT as u8),
        Err(err) => {
            writeln!(io.stderr, "{err}")?;
            Ok(exit::ERROR)
        }
    }
}
