//! `ccbreaker status`: brings the ledger up to date with every transcript, then shows today's spend, each
//! session's spend and state against the budgets, unknown models, and where the last hook call spent its time.

use super::Io;
use super::args::Args;
use crate::config::{self, Config};
use crate::env::Env;
use crate::error::{Error, exit};
use crate::ledger::state::{HookTimings, SessionSpend, Spend};
use crate::ledger::store::{Locked, Store};
use crate::paths;
use crate::policy::{self, Limits, Verdict};
use crate::sync::{self, Scan};
use crate::text::thousands;
use crate::usage::Pico;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Serialize)]
struct Report {
    date: NaiveDate,
    timezone: String,
    day: Totals,
    sessions: Vec<SessionRow>,
    budgets: Budgets,
    unknown_models: Vec<String>,
    /// Priced as this model's rates.
    unknown_model_priced_as: String,
    config: String,
    state_dir: String,
    last_hook: Option<HookTimings>,
    /// The budget correction (`reconcile.correct_budgets`) and the factors `reconcile` last measured.
    correction: Option<CorrectionStatus>,
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct CorrectionStatus {
    /// `reconcile.correct_budgets`: the hook multiplies each model's spend by its factor.
    enabled: bool,
    computed_at: Option<String>,
    age_hours: Option<f64>,
    source: Option<String>,
    /// By model, as applied (clamped to `min_factor..max_factor`).
    factors: std::collections::BTreeMap<String, f64>,
    /// For every other model.
    others: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Totals {
    cost_usd: f64,
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_tokens: u64,
    cache_read_tokens: u64,
    web_search_requests: u64,
    responses: u64,
}

#[derive(Debug, Serialize)]
struct SessionRow {
    session_id: String,
    project: String,
    #[serde(flatten)]
    totals: Totals,
    today_cost_usd: f64,
    state: &'static str,
    limit_usd: Option<f64>,
    hooked: bool,
    last_activity: Option<String>,
}

#[derive(Debug, Serialize)]
struct Budgets {
    session_usd: f64,
    daily_usd: f64,
    warn_at: f64,
    on_breach: &'static str,
    on_error: &'static str,
}

impl From<&Spend> for Totals {
    fn from(s: &Spend) -> Totals {
        Totals {
            cost_usd: round_usd(s.cost),
            input_tokens: s.usage.input_tokens,
            output_tokens: s.usage.output_tokens,
            cache_creation_tokens: s.usage.cache_creation_tokens(),
            cache_read_tokens: s.usage.cache_read_tokens,
            web_search_requests: s.usage.web_search_requests,
            responses: s.responses,
        }
    }
}

fn round_usd(p: Pico) -> f64 {
    p.usd_for_json()
}

pub(super) fn status(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let json = args.flag("--json");
    let only = args.value("--session")?;
    args.finish()?;
    let config_path = paths::config_file(io.env);
    let loaded = config::load(&config_path)?;
    for warning in &loaded.warnings {
        writeln!(io.stderr, "ccbreaker: warning: {warning}")?;
    }
    let now = super::now(io.env)?;
    let (locked, ctx) = refresh(&loaded.config, &config_path, io.env, now)?;
    let report = build(&loaded.config, &config_path, &ctx, &locked, only.as_deref());
    locked.save()?;
    if json {
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&report).expect("report serialises"))?;
    } else {
        write!(io.stdout, "{}", render(&report))?;
    }
    if let Some(id) = only
        && report.sessions.is_empty()
    {
        writeln!(io.stderr, "ccbreaker: no spend recorded for session {id}")?;
        return Ok(exit::ERROR);
    }
    Ok(exit::OK)
}

/// Locks the ledger and reads every transcript root now. Shared with `allow`.
pub(super) fn refresh<'a>(
    config: &'a Config,
    config_path: &Path,
    env: &'a Env,
    now: DateTime<Utc>,
) -> Result<(Locked, sync::Context<'a>), Error> {
    let state_dir = paths::state_dir(env);
    let ctx = sync::Context::new(env, config, config_path, &state_dir, now)?;
    let store = Store::open(&state_dir)?;
    // A person can wait longer than a hook: five times the hook's lock timeout.
    let mut locked = store.lock(env.lock_timeout()? * 5, &ctx.ledger_basis())?;
    sync::sync(&mut locked, None, Scan::Now, &ctx)?;
    Ok((locked, ctx))
}

fn build(config: &Config, config_path: &Path, ctx: &sync::Context, locked: &Locked, only: Option<&str>) -> Report {
    let zone = ctx.zone;
    let today = zone.date_of(ctx.now);
    let ledger = &locked.ledger;
    let day = ledger.day(today);
    let b = &config.budget;
    let mut sessions: Vec<SessionRow> = ledger
        .sessions
        .iter()
        .filter(|(id, s)| match only {
            Some(only) => id.as_str() == only,
            None => s.days.contains_key(&today),
        })
        .map(|(id, s)| {
            let limits = Limits::from_usd(b.session_usd, b.daily_usd, b.warn_at, locked.allowances.extra_for(id));
            session_row(id, s, &limits, day.cost, today)
        })
        .collect();
    sessions.sort_by(|a, b| b.totals.cost_usd.total_cmp(&a.totals.cost_usd).then(a.session_id.cmp(&b.session_id)));
    let unknown: BTreeSet<String> = ledger
        .sessions
        .values()
        .filter(|s| only.is_some() || s.days.contains_key(&today))
        .flat_map(|s| s.unknown_models.iter().cloned())
        .collect();
    Report {
        date: today,
        timezone: zone.name(),
        day: Totals::from(&day),
        sessions,
        budgets: Budgets {
            session_usd: b.session_usd,
            daily_usd: b.daily_usd,
            warn_at: b.warn_at,
            on_breach: config.policy.on_breach.as_str(),
            on_error: config.policy.on_error.as_str(),
        },
        unknown_models: unknown.into_iter().collect(),
        unknown_model_priced_as: match &config.pricing.unknown_model {
            config::UnknownModel::MostExpensive => ctx.prices.most_expensive_model().to_owned(),
            config::UnknownModel::Like(model) => model.clone(),
            config::UnknownModel::Price(_) => "pricing.unknown_model".to_owned(),
        },
        config: config_path.display().to_string(),
        state_dir: locked.store().dir().display().to_string(),
        last_hook: ledger.last_hook.clone(),
        correction: correction_status(config, locked.store().dir(), ctx.now),
        notes: ledger.notes.clone(),
    }
}

/// The correction in force (or available), `None` when it is off and `reconcile` never measured factors.
fn correction_status(config: &Config, state_dir: &Path, now: DateTime<Utc>) -> Option<CorrectionStatus> {
    let r = &config.reconcile;
    let factors = crate::correction::read(state_dir).ok().flatten();
    if factors.is_none() && !r.correct_budgets {
        return None;
    }
    let clamp = |f: f64| f.clamp(r.min_factor, r.max_factor);
    Some(CorrectionStatus {
        enabled: r.correct_budgets,
        computed_at: factors.as_ref().map(|f| f.computed_at.to_rfc3339()),
        age_hours: factors.as_ref().map(|f| ((now - f.computed_at).num_minutes() as f64 / 60.0 * 10.0).round() / 10.0),
        source: factors.as_ref().map(|f| f.source.clone()),
        factors: factors
            .as_ref()
            .map(|f| f.models.iter().map(|(m, x)| (m.clone(), clamp(x.factor))).collect())
            .unwrap_or_default(),
        others: factors.as_ref().map(|f| clamp(f.fallback.unwrap_or(1.0))),
    })
}

fn session_row(id: &str, s: &SessionSpend, limits: &Limits, day_cost: Pico, today: NaiveDate) -> SessionRow {
    let state = match policy::assess(s.total.cost, day_cost, limits) {
        Verdict::Allow => "ok",
        Verdict::Warn(_) => "warn",
        Verdict::Breach(_) => "blocked",
    };
    SessionRow {
        session_id: id.to_owned(),
        project: s.project.clone(),
        totals: Totals::from(&s.total),
        today_cost_usd: round_usd(s.day(today).cost),
        state,
        limit_usd: limits.session.map(|p| p.usd()),
        hooked: s.hooked,
        last_activity: s.last_activity.map(|t| t.to_rfc3339()),
    }
}

fn render(r: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(r, &mut out);
    out
}

fn write_report(r: &Report, out: &mut String) -> std::fmt::Result {
    let usd = |x: f64| Pico::from_usd(x).to_string();
    let percent =
        |spent: f64, limit: f64| if limit > 0.0 { format!(" ({:.0}%)", spent / limit * 100.0) } else { String::new() };
    writeln!(out, "ccbreaker status for {} ({})", r.date, r.timezone)?;
    let daily = if r.budgets.daily_usd > 0.0 {
        format!("of {} daily budget", usd(r.budgets.daily_usd))
    } else {
        "(no daily budget)".to_owned()
    };
    writeln!(out, "today:    {} {daily}{}", usd(r.day.cost_usd), percent(r.day.cost_usd, r.budgets.daily_usd))?;
    writeln!(
        out,
        "tokens:   {} in, {} out, {} cache write, {} cache read, {} responses",
        thousands(r.day.input_tokens),
        thousands(r.day.output_tokens),
        thousands(r.day.cache_creation_tokens),
        thousands(r.day.cache_read_tokens),
        thousands(r.day.responses)
    )?;
    let session = if r.budgets.session_usd > 0.0 { usd(r.budgets.session_usd) } else { "off".to_owned() };
    writeln!(
        out,
        "budgets:  session {session}, daily {}, warn at {:.0}%, on breach: {}, on error: {}",
        if r.budgets.daily_usd > 0.0 { usd(r.budgets.daily_usd) } else { "off".to_owned() },
        r.budgets.warn_at * 100.0,
        r.budgets.on_breach,
        r.budgets.on_error
    )?;
    if r.sessions.is_empty() {
        writeln!(out, "\nno session has spent anything today")?;
    } else {
        writeln!(out, "\n{:<38} {:>10} {:>10} {:>8}  project", "session", "spent", "today", "state")?;
        for s in &r.sessions {
            writeln!(
                out,
                "{:<38} {:>10} {:>10} {:>8}  {}",
                s.session_id,
                usd(s.totals.cost_usd),
                usd(s.today_cost_usd),
                s.state,
                s.project
            )?;
        }
    }
    if !r.unknown_models.is_empty() {
        writeln!(out, "\nunknown models (priced as {}): {}", r.unknown_model_priced_as, r.unknown_models.join(", "))?;
    }
    if let Some(h) = &r.last_hook {
        let ms = |us: u64| us as f64 / 1000.0;
        writeln!(
            out,
            "\nlast hook: {} {} in {:.2} ms (parse {:.2}, lock {:.2}, read+price {:.2}, wait {:.2}, decide {:.2}); {} files, {} bytes{}",
            h.event,
            h.at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ms(h.total_us),
            ms(h.parse_us),
            ms(h.lock_us),
            ms(h.tail_us),
            ms(h.wait_us),
            ms(h.decide_us),
            h.files_read,
            h.bytes_read,
            if h.scanned { ", scanned all roots" } else { "" }
        )?;
    }
    if let Some(c) = &r.correction {
        let mut factors: Vec<String> = c.factors.iter().map(|(m, f)| format!("{m} x{f:.4}")).collect();
        if let Some(others) = c.others {
            factors.push(format!("other models x{others:.4}"));
        }
        let line = match (&c.computed_at, c.age_hours, c.enabled) {
            (Some(at), Some(age), true) => format!(
                "on (reconcile.correct_budgets): spend is the estimate x the factors of {at} ({age:.1} h old): {}",
                factors.join(", ")
            ),
            (Some(at), Some(age), false) => format!(
                "off; `ccbreaker reconcile` measured {} on {at} ({age:.1} h ago): set reconcile.correct_budgets = true \
                 to apply them",
                factors.join(", ")
            ),
            _ => "on (reconcile.correct_budgets), but no factors yet: run `ccbreaker reconcile`".to_owned(),
        };
        writeln!(out, "\ncorrection: {line}")?;
    }
    for note in &r.notes {
        writeln!(out, "note: {note}")?;
    }
    writeln!(out, "\nconfig: {}\nstate:  {}", r.config, r.state_dir)
}
