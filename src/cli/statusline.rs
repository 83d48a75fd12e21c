//! `ccbreaker statusline`: Claude Code's `statusLine` command. It reads the client's statusline JSON on stdin and
//! prints one line (see [`crate::statusline`]) from the ledger as the last hook call left it: read without the lock
//! and without reading a transcript, so it costs about what a bare process start does. It records the payload's
//! `rate_limits` (see [`crate::plan`]). It always exits 0 and prints something: a failing statusline command leaves
//! the client's line blank, which tells the user nothing.

use super::Io;
use super::args::Args;
use crate::error::{Error, exit};
use crate::ledger::store::Store;
use crate::policy::{self, Limits, Verdict};
use crate::statusline::{Gauge, Meter, Value, render};
use crate::usage::Pico;
use serde_json::Value as Json;
use std::io::Read;

/// The width when the client passes no `COLUMNS`.
const DEFAULT_WIDTH: usize = 80;

pub(super) fn statusline(args: Args, io: &mut Io) -> Result<u8, Error> {
    args.finish()?;
    let mut bytes = Vec::new();
    let _ = io.stdin.take(1 << 20).read_to_end(&mut bytes);
    // A payload that cannot be read is an empty one: the line still shows the day.
    let payload: Json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
    let (meter, warn_at) = meter(&payload, io);
    let width = io.env.columns().unwrap_or(DEFAULT_WIDTH);
    writeln!(io.stdout, "{}", render(&meter, warn_at, width, !io.env.no_color))?;
    Ok(exit::OK)
}

/// What the line shows, and the warning fraction that colours it.
fn meter(payload: &Json, io: &Io) -> (Meter, f64) {
    let note = |text: String| (Meter { note: Some(text), ..Meter::default() }, 0.0);
    let place = match super::place(io, "statusline") {
        Ok(place) => place,
        Err(err) => return note(err.report()),
    };
    let config = match place.config() {
        Ok(effective) => effective.config,
        Err(_) => return note("the config cannot be read (run `ccbreaker config check`)".to_owned()),
    };
    let Ok(now) = super::now(&place.env) else { return note("CCBREAKER_NOW is not a time".to_owned()) };
    let b = &config.budget;
    let store = Store::at(&place.state_dir).with_grants(place.grants.clone());
    let readings = crate::plan::readings(&payload["rate_limits"]);
    if !readings.is_empty() && place.state_dir.is_dir() {
        let _ = crate::plan::record(&place.state_dir, &readings, now);
    }
    let Some(ledger) = store.peek() else {
        return note("no hook has run yet (run `ccbreaker doctor`)".to_owned());
    };
    let today = b.timezone.date_of(now);
    let session_id = payload["transcript_path"]
        .as_str()
        .and_then(|p| crate::transcript::discover::session_of_transcript(std::path::Path::new(p)))
        .or_else(|| payload["session_id"].as_str().filter(|s| !s.is_empty()).map(str::to_owned));
    let extra = session_id.as_deref().map(|id| store.peek_allowances().extra_for(id)).unwrap_or_default();
    let limits = Limits::from_usd(b.session_usd, b.daily_usd, b.warn_at, extra);
    let per_response = b.incomplete_output_tokens;
    let entry = session_id.as_deref().and_then(|id| ledger.sessions.get(id));
    let day_spent = ledger.day(today).cost.saturating_add(ledger.day_estimate(today, per_response));
    let (session_spent, approx) = match entry {
        Some(s) => (s.total.cost.saturating_add(s.estimate(per_response, None)), false),
        // No hook of this session has counted anything yet: the client's own estimate, marked as such.
        None => (payload["cost"]["total_cost_usd"].as_f64().map(Pico::from_usd).unwrap_or_default(), true),
    };
    let money = |name: &str, short: &str, spent: Pico, limit: Option<Pico>, approx: bool| {
        limit.map(|limit| Gauge {
            name: name.to_owned(),
            short: short.to_owned(),
            value: Value::Money { spent, limit, approx },
        })
    };
    let view = crate::standings::View {
        ledger: &ledger,
        config: &config,
        session: session_id.as_deref(),
        extra,
        now,
        home: place.env.home.as_deref(),
    };
    let more = if session_id.is_some() { crate::standings::more(&view) } else { Vec::new() };
    // Every other budget in force, as a gauge (tokens as the share of their limit).
    let others = more
        .iter()
        .map(|s| {
            let words = crate::standings::words(s, &config);
            let short = s.scope.key();
            let value = if s.scope.tokens() {
                Value::Percent(s.per_mille() as f64 / 10.0)
            } else {
                Value::Money { spent: s.spent, limit: s.limit, approx: false }
            };
            Gauge { name: words.name.trim_end_matches(" budget").to_owned(), short, value }
        })
        .collect();
    let mut standings = policy::standings(session_spent, day_spent, &limits);
    standings.extend(more);
    let blocked = match entry {
        Some(s) if s.tampered.is_some() => Some("tampered transcript".to_owned()),
        _ if session_id.is_none() => None,
        _ => match policy::judge(standings) {
            Verdict::Breach(standing) => Some(crate::standings::words(&standing, &config).name),
            _ => entry.and_then(|s| s.blocked_since).map(|_| "blocked".to_owned()),
        },
    };
    let plan = crate::plan::read(&place.state_dir);
    let plan = plan
        .windows
        .iter()
        .filter(|(_, w)| w.is_current(now))
        .map(|(window, w)| {
            let (name, short) = match window.as_str() {
                "five_hour" => ("5h", "5h"),
                "seven_day" => ("7d", "7d"),
                "spend_limit" => ("limit", "lim"),
                other => (other, other),
            };
            Gauge { name: name.to_owned(), short: short.to_owned(), value: Value::Percent(w.used_percentage) }
        })
        .collect();
    let meter = Meter {
        session: money("session", "s", session_spent, limits.session, approx).filter(|_| session_id.is_some()),
        day: money("today", "d", day_spent, limits.day, false),
        others,
        plan,
        blocked,
        note: None,
    };
    (meter, b.warn_at)
}
