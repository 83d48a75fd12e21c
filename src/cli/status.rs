//! `ccbreaker status`: brings the ledger up to date with every transcript, then shows today's spend, each
//! session's spend and state against the budgets, unknown models, and where the last hook call spent its time.

use super::Io;
use super::args::Args;
use crate::config::Config;
use crate::error::{Error, exit};
use crate::ledger::state::{HookTimings, SessionSpend, Spend};
use crate::ledger::store::{Locked, Store};
use crate::locked::checks::{self, Check};
use crate::place::Place;
use crate::policy::Verdict;
use crate::sync::{self, Scan};
use crate::text::thousands;
use crate::transcript::tail::Budget;
use crate::usage::Pico;
use crate::verdict::{Ask, Judge};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// What `status` knows: `status --json` prints it, and the live views (`watch`, `dashboard`) show it.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub(super) date: NaiveDate,
    pub(super) timezone: String,
    pub(super) day: Totals,
    pub(super) sessions: Vec<SessionRow>,
    pub(super) budgets: Budgets,
    /// Every budget in force (with `--session`, that session's too), nearest to its limit first (the live views
    /// draw one bar each).
    pub(super) scopes: Vec<ScopeRow>,
    /// The plan's usage windows as `ccbreaker statusline` last recorded them, each with its age.
    plan: Vec<PlanRow>,
    /// Models seen that no price table knows: their price is a guess.
    unknown_models: Vec<String>,
    /// Each of them, and the model whose rates it got (or `pricing.unknown_model`).
    guessed_prices: BTreeMap<String, String>,
    config: String,
    pub(super) state_dir: String,
    last_hook: Option<LastHook>,
    /// The budget correction (`reconcile.correct_budgets`) and the factors `reconcile` last measured.
    correction: Option<CorrectionStatus>,
    pub(super) notes: Vec<String>,
    /// `user` or `locked`.
    mode: &'static str,
    /// Locked mode: whether its boundary holds, fact by fact.
    boundary: Vec<Check>,
    /// Whether the hooks are registered, and where (see `ccbreaker doctor`).
    protection: Option<crate::doctor::Protection>,
    /// The alert channels, and those whose last delivery failed.
    alerts: AlertsStatus,
    /// Team mode (`[team]`): the totals as this machine's last hook call read them (`team status` reads them live).
    team: Option<TeamLine>,
}

#[derive(Debug, Serialize)]
struct TeamLine {
    team: String,
    day_cost_usd: f64,
    daily_usd: f64,
    last_sync: Option<String>,
    reachable: bool,
    /// Why the server could not be reached (never with credentials).
    error: Option<String>,
    pending: u64,
}

#[derive(Debug, Default, Serialize)]
struct AlertsStatus {
    channels: Vec<&'static str>,
    failing: Vec<String>,
}

/// The last hook call, as `--json` shows it (its time as RFC 3339, durations in microseconds).
#[derive(Debug, Serialize)]
struct LastHook {
    at: Option<String>,
    event: String,
    session: String,
    parse_us: u64,
    lock_us: u64,
    tail_us: u64,
    decide_us: u64,
    wait_us: u64,
    total_us: u64,
    files_read: u64,
    bytes_read: u64,
    scanned: bool,
}

impl LastHook {
    fn of(h: &HookTimings) -> LastHook {
        LastHook {
            at: h.at.map(crate::text::rfc3339),
            event: h.event.clone(),
            session: h.session.clone(),
            parse_us: h.parse_us,
            lock_us: h.lock_us,
            tail_us: h.tail_us,
            decide_us: h.decide_us,
            wait_us: h.wait_us,
            total_us: h.total_us,
            files_read: h.files_read,
            bytes_read: h.bytes_read,
            scanned: h.scanned,
        }
    }
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

/// One budget's spend against its limit, and its zone: `safe`, `warn` (from `budget.warn_at`) or `over`.
#[derive(Debug, Serialize)]
pub(super) struct Totals {
    pub(super) cost_usd: f64,
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_tokens: u64,
    cache_read_tokens: u64,
    web_search_requests: u64,
    pub(super) responses: u64,
    /// Responses whose final usage Claude Code never wrote: counted as recorded, so `cost_usd` is at least this.
    incomplete_responses: u64,
    pub(super) lower_bound: bool,
    /// What the budgets add for them (`budget.incomplete_output_tokens`).
    pub(super) estimated_usd: f64,
}

#[derive(Debug, Serialize)]
pub(super) struct SessionRow {
    pub(super) session_id: String,
    pub(super) project: String,
    #[serde(flatten)]
    pub(super) totals: Totals,
    today_cost_usd: f64,
    pub(super) state: &'static str,
    limit_usd: Option<f64>,
    hooked: bool,
    pub(super) last_activity: Option<String>,
    /// Its subagents' transcripts that grew in the last two minutes.
    pub(super) subagents_running: usize,
    /// Some of its responses are on a model no price table knows: their price is a guess.
    guessed_price: bool,
    /// For a blocked or tampered session: the command that lets it go on.
    pub(super) lift: Option<String>,
    /// Which of ccbreaker's gates guard it, from what they recorded: `mod+hooks`, `mod`, `hooks`, or `none` (found
    /// by a walk of the transcripts).
    pub(super) gates: &'static str,
    /// What the steps the mod saw finish, not in the transcripts yet, add to its spend.
    provisional_usd: f64,
    /// What its model requests in flight hold against the budgets.
    reserved_usd: f64,
    /// The latest refusal of a gate.
    halted: Option<HaltedRow>,
}

/// A gate's refusal, as `status --json` shows it (and `ccbreaker exec` reads it).
#[derive(Debug, Serialize)]
struct HaltedRow {
    /// RFC 3339.
    at: String,
    /// `mod` or `hooks`.
    by: String,
    /// The event refused: `turn.step`, `agent.spawn`, `session.compact`, `http.fetch`, `PreToolUse`, ...
    event: String,
    reason: String,
}

/// One plan window's newest reading.
#[derive(Debug, Serialize)]
struct PlanRow {
    window: String,
    used_percentage: f64,
    resets_at: Option<String>,
    seen_at: Option<String>,
    age_minutes: Option<i64>,
    /// False once the window has reset since the reading: the plan budgets then ignore it.
    current: bool,
}

/// One budget in force: what it has spent against its limit.
#[derive(Debug, Serialize)]
pub(super) struct ScopeRow {
    /// A stable name: `session`, `daily`, `block_5h`, `weekly`, `monthly`, `session_tokens`, `daily_tokens`,
    /// `project[N].daily`, `model[N].weekly`, ...
    pub(super) scope: String,
    /// As messages name it: `weekly budget`, `project "~/work/acme/**" daily budget`.
    pub(super) name: String,
    /// The config key that sets it.
    key: String,
    /// `usd` or `tokens`.
    pub(super) unit: &'static str,
    pub(super) spent: f64,
    pub(super) limit: f64,
    /// Spent over limit (1 at the limit).
    pub(super) fraction: f64,
    /// `safe`, `warn` (past its warning level) or `over` (at or past its limit).
    pub(super) zone: &'static str,
    /// When it starts afresh, if it does.
    resets: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Budgets {
    pub(super) session_usd: f64,
    pub(super) daily_usd: f64,
    pub(super) warn_at: f64,
    on_breach: &'static str,
    on_error: &'static str,
}

impl Totals {
    fn of(s: &Spend, estimate: Pico) -> Totals {
        Totals {
            cost_usd: round_usd(s.cost),
            input_tokens: s.usage.input_tokens,
            output_tokens: s.usage.output_tokens,
            cache_creation_tokens: s.usage.cache_creation_tokens(),
            cache_read_tokens: s.usage.cache_read_tokens,
            web_search_requests: s.usage.web_search_requests,
            responses: s.responses,
            incomplete_responses: s.incomplete,
            lower_bound: s.incomplete > 0,
            estimated_usd: round_usd(estimate),
        }
    }
}

fn round_usd(p: Pico) -> f64 {
    p.usd_for_json()
}

pub(super) fn status(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let json = args.flag("--json");
    let only = args.value("--session")?;
    let compact = args.flag("--compact");
    args.finish()?;
    let place = super::place(io, "status")?;
    let config = super::config(&place, io)?;
    let now = super::now(&place.env)?;
    let (report, _) = snapshot(&config, &place, io, now, only.as_deref(), Scan::Now)?;
    if json {
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&report).expect("report serialises"))?;
    } else {
        let width = crate::text::Width::of(io.stdout_is_terminal, io.env, compact);
        write!(io.stdout, "{}", render(&report, width))?;
    }
    if let Some(id) = only
        && report.sessions.is_empty()
    {
        writeln!(io.stderr, "ccbreaker: no spend recorded for session {id}")?;
        return Ok(exit::ERROR);
    }
    Ok(exit::OK)
}

/// What the ledger follows, for the live views to see what grew: the files of today's sessions with how far each
/// was read, and the committed record count of each key log.
#[derive(Debug, Default)]
pub(super) struct Followed {
    pub(super) files: Vec<(String, u64)>,
    pub(super) keys: BTreeMap<NaiveDate, u64>,
}

/// The standings now: the ledger brought up to date (`scan`: walk every root now, or only when
/// `transcripts.rescan_secs` says) and saved, then what `status` shows, and what the ledger follows.
pub(super) fn snapshot(
    config: &Config,
    place: &Place,
    io: &mut Io,
    now: DateTime<Utc>,
    only: Option<&str>,
    scan: Scan,
) -> Result<(Report, Followed), Error> {
    let (locked, ctx) = refresh(config, place, io, now, scan)?;
    let mut report = build(config, place, &ctx, &locked, only);
    let today = ctx.zone.date_of(now);
    let files = locked
        .ledger
        .files
        .iter()
        .filter(|(_, c)| locked.ledger.sessions.get(&c.session).is_some_and(|s| s.days.contains_key(&today)))
        .map(|(path, c)| (path.clone(), c.offset))
        .collect();
    let followed = Followed { files, keys: locked.ledger.keys.clone() };
    report.correction = correction_status(config, place, now);
    locked.save()?;
    report.mode = place.mode.name();
    if let Some(install) = place.mode.install() {
        report.boundary = checks::run(install);
    }
    report.protection = Some(crate::doctor::protection(place));
    report.alerts = AlertsStatus {
        channels: config.alerts.channels.iter().map(|c| c.channel.name()).collect(),
        failing: super::alert::failures(&place.state_dir),
    };
    report.team = config.team.as_ref().map(|team| {
        let saved = crate::team::Saved::load(&place.state_dir);
        let today = team.timezone.date_of(now);
        TeamLine {
            team: team.name.clone(),
            day_cost_usd: if saved.totals.day == Some(today) { round_usd(saved.totals.day_cost) } else { 0.0 },
            daily_usd: team.daily_usd,
            last_sync: saved.synced_at.map(crate::text::rfc3339),
            reachable: saved.reachable,
            error: saved.error,
            pending: saved.pending,
        }
    });
    let lift = |id: &str| {
        format!("{} allow --session {id} --add-usd {}", place.human_command(), usd_arg(config.budget.suggested_extra()))
    };
    for row in &mut report.sessions {
        if row.state == "blocked" || row.state == "tampered" {
            row.lift = Some(lift(&row.session_id));
        }
    }
    Ok((report, followed))
}

/// Locks the ledger and reads every transcript root now. Shared with `allow`. The reading is done in rounds of a
/// hook's budget, letting go of the lock between them (hooks keep answering meanwhile), with progress on a
/// terminal when it takes long.
pub(super) fn refresh<'a>(
    config: &'a Config,
    place: &'a Place,
    io: &mut Io,
    now: DateTime<Utc>,
    mut scan: Scan,
) -> Result<(Locked, sync::Context<'a>), Error> {
    let env = &place.env;
    let mut ctx = sync::Context::new(place, config, now)?;
    let store = Store::open(&place.state_dir)?.with_grants(place.grants.clone());
    let started = std::time::Instant::now();
    let (mut files, mut bytes) = (0, 0);
    loop {
        ctx.budget =
            Budget { bytes: sync::HOOK_BYTES, deadline: Some(std::time::Instant::now() + sync::HOOK_READ_FOR) };
        // A person can wait longer than a hook: five times the hook's lock timeout.
        let mut locked = store.lock(env.lock_timeout()? * 5, &ctx.ledger_basis())?;
        let read = sync::sync(&mut locked, None, scan, &ctx)?;
        (files, bytes) = (files + read.stats.files, bytes + read.stats.bytes);
        if !read.unfinished {
            return Ok((locked, ctx));
        }
        // What is left is found again by a walk.
        scan = Scan::Now;
        locked.save()?;
        if io.stderr_is_terminal || started.elapsed().as_secs() >= 2 {
            writeln!(
                io.stderr,
                "ccbreaker: reading transcripts: {files} files, {:.1} MB so far ({:.0} s)",
                bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            )?;
        }
    }
}

fn build(config: &Config, place: &Place, ctx: &sync::Context, locked: &Locked, only: Option<&str>) -> Report {
    let config_path = &place.config_path;
    let home = place.env.home.as_deref();
    let zone = ctx.zone;
    let today = zone.date_of(ctx.now);
    let ledger = &locked.ledger;
    let day = ledger.day(today);
    let b = &config.budget;
    let day_estimate = ledger.day_estimate(today, b.incomplete_output_tokens);
    let mut sessions: Vec<SessionRow> = ledger
        .sessions
        .iter()
        .filter(|(id, s)| match only {
            Some(only) => id.as_str() == only,
            None => s.days.contains_key(&today) || !s.provisional.is_empty() || !s.reserved.is_empty(),
        })
        .map(|(id, s)| {
            let judge =
                Judge { ledger, allowances: &locked.allowances, config, session: id, today, now: ctx.now, home };
            let mut row = session_row(id, s, &judge, today, b.incomplete_output_tokens);
            row.subagents_running = subagents_running(ledger, id, ctx.now);
            row
        })
        .collect();
    let whose = only.unwrap_or("");
    let judge = Judge { ledger, allowances: &locked.allowances, config, session: whose, today, now: ctx.now, home };
    let scopes = scope_rows(config, &judge, only);
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
        day: Totals::of(&day, day_estimate),
        sessions,
        budgets: Budgets {
            session_usd: b.session_usd,
            daily_usd: b.daily_usd,
            warn_at: b.warn_at,
            on_breach: config.policy.on_breach.as_str(),
            on_error: config.policy.on_error.as_str(),
        },
        scopes,
        plan: crate::plan::read(&place.state_dir)
            .windows
            .into_iter()
            .map(|(window, w)| PlanRow {
                current: w.is_current(ctx.now),
                used_percentage: w.used_percentage,
                resets_at: w.resets_at.map(crate::text::rfc3339),
                age_minutes: w.seen_at.map(|at| (ctx.now - at).num_minutes()),
                seen_at: w.seen_at.map(crate::text::rfc3339),
                window,
            })
            .collect(),
        guessed_prices: unknown.iter().map(|m| (m.clone(), ctx.prices.guess(m).1)).collect(),
        unknown_models: unknown.into_iter().collect(),
        config: config_path.display().to_string(),
        state_dir: locked.store().dir().display().to_string(),
        last_hook: ledger.last_hook.as_ref().map(LastHook::of),
        correction: None,
        notes: ledger.notes.clone(),
        mode: "user",
        boundary: Vec::new(),
        protection: None,
        alerts: AlertsStatus::default(),
        team: None,
    }
}

/// How long after its transcript last grew a subagent counts as running.
const RUNNING_SECS: i64 = 120;

fn subagents_running(ledger: &crate::ledger::state::Ledger, session: &str, now: DateTime<Utc>) -> usize {
    ledger
        .files
        .iter()
        .filter(|(path, c)| {
            c.session == session
                && crate::report::collect::is_subagent(Path::new(path.as_str()))
                && now.timestamp() - c.touched <= RUNNING_SECS
        })
        .count()
}

/// `20`, or `2.5`: an amount as the `allow` command takes it.
fn usd_arg(usd: f64) -> String {
    if usd.fract() == 0.0 { format!("{usd:.0}") } else { format!("{usd}") }
}

/// The correction in force (or available), `None` when it is off and `reconcile` never measured factors.
fn correction_status(config: &Config, place: &Place, now: DateTime<Utc>) -> Option<CorrectionStatus> {
    let r = &config.reconcile;
    let factors = crate::correction::read(&place.state_dir).ok().flatten();
    if factors.is_none() && !r.correct_budgets {
        return None;
    }
    let (min, max) = place.correction_range(r);
    let clamp = |f: f64| f.clamp(min, max);
    Some(CorrectionStatus {
        enabled: r.correct_budgets,
        computed_at: factors.as_ref().map(|f| crate::text::rfc3339(f.computed_at)),
        age_hours: factors.as_ref().map(|f| ((now - f.computed_at).num_minutes() as f64 / 60.0 * 10.0).round() / 10.0),
        source: factors.as_ref().map(|f| f.source.clone()),
        factors: factors
            .as_ref()
            .map(|f| f.models.iter().map(|(m, x)| (m.clone(), clamp(x.factor))).collect())
            .unwrap_or_default(),
        others: factors.as_ref().map(|f| clamp(f.fallback.unwrap_or(1.0))),
    })
}

/// Every budget in force, nearest to its limit first: the day's and the machine's scopes, and with `--session` that
/// session's own.
fn scope_rows(config: &Config, judge: &Judge, only: Option<&str>) -> Vec<ScopeRow> {
    let b = &config.budget;
    let mut standings = judge.standings(Ask::Hook);
    if only.is_none_or(|id| !judge.ledger.sessions.contains_key(id)) {
        // The machine's view: the day's and every machine-wide scope, every project and model entry.
        standings.retain(|s| s.scope == crate::policy::Scope::Day);
        standings.extend(crate::standings::more(&crate::standings::View { session: None, ..judge.view() }));
    }
    let mut rows: Vec<(u64, ScopeRow)> = standings
        .iter()
        .map(|s| {
            let words = crate::standings::words(s, config);
            let (unit, spent, limit) = if s.scope.tokens() {
                ("tokens", s.spent.0 as f64, s.limit.0 as f64)
            } else {
                ("usd", round_usd(s.spent), round_usd(s.limit))
            };
            let resets = match s.scope {
                crate::policy::Scope::Day => Some(format!("at midnight ({})", b.timezone.name())),
                _ => words.resets,
            };
            let row = ScopeRow {
                scope: s.scope.key(),
                name: words.name,
                key: words.key,
                unit,
                spent,
                limit,
                fraction: s.per_mille() as f64 / 1000.0,
                zone: zone(s),
                resets,
            };
            (s.per_mille(), row)
        })
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// A scope's zone, as the live views colour it.
fn zone(s: &crate::policy::Standing) -> &'static str {
    if s.spent >= s.limit {
        "over"
    } else if s.warn_per_mille.is_some_and(|w| s.per_mille() >= w) {
        "warn"
    } else {
        "safe"
    }
}

fn session_row(id: &str, s: &SessionSpend, judge: &Judge, today: NaiveDate, per_response: Option<u64>) -> SessionRow {
    let estimate = s.estimate(per_response, None);
    let state = match judge.verdict(Ask::Hook) {
        _ if s.tampered.is_some() => "tampered",
        Verdict::Allow => "ok",
        Verdict::Warn(_) => "warn",
        Verdict::Breach(_) => "blocked",
    };
    let gates = match (s.mod_seen.is_some(), s.hooked) {
        (true, true) => "mod+hooks",
        (true, false) => "mod",
        (false, true) => "hooks",
        (false, false) => "none",
    };
    SessionRow {
        session_id: id.to_owned(),
        project: s.project.clone(),
        totals: Totals::of(&s.total, estimate),
        today_cost_usd: round_usd(s.day(today).cost),
        state,
        limit_usd: judge.limits().session.map(|p| p.usd()),
        hooked: s.hooked,
        last_activity: s.last_activity.map(crate::text::rfc3339),
        guessed_price: !s.unknown_models.is_empty(),
        subagents_running: 0,
        lift: None,
        gates,
        provisional_usd: round_usd(crate::ledger::overlay::provisional(s, None, judge.now)),
        reserved_usd: round_usd(crate::ledger::overlay::held(s, None, judge.now)),
        halted: s.halted.as_ref().map(|h| HaltedRow {
            at: h.at.to_rfc3339(),
            by: h.by.clone(),
            event: h.event.clone(),
            reason: h.reason.clone(),
        }),
    }
}

/// An amount that is a lower bound when some of its responses lack their final usage: "at least $X".
fn amount(usd: f64, lower_bound: bool) -> String {
    let text = Pico::from_usd(usd).to_string();
    if lower_bound { format!("at least {text}") } else { text }
}

fn render(r: &Report, width: crate::text::Width) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(r, width, &mut out);
    out
}

fn write_report(r: &Report, width: crate::text::Width, out: &mut String) -> std::fmt::Result {
    use crate::text::{Align, RowKind, Style, Table};
    let usd = |x: f64| Pico::from_usd(x).to_string();
    let percent =
        |spent: f64, limit: f64| if limit > 0.0 { format!(" ({:.0}%)", spent / limit * 100.0) } else { String::new() };
    writeln!(out, "ccbreaker status for {} ({})", r.date, r.timezone)?;
    let daily = if r.budgets.daily_usd > 0.0 {
        format!("of {} daily budget", usd(r.budgets.daily_usd))
    } else {
        "(no daily budget)".to_owned()
    };
    writeln!(
        out,
        "today:    {} {daily}{}",
        amount(r.day.cost_usd, r.day.lower_bound),
        percent(r.day.cost_usd + r.day.estimated_usd, r.budgets.daily_usd)
    )?;
    if r.day.lower_bound {
        writeln!(
            out,
            "          {} response(s) lack their final usage (Claude Code did not write it); the budgets add {} for them",
            r.day.incomplete_responses,
            usd(r.day.estimated_usd)
        )?;
    }
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
    if let Some(p) = &r.protection {
        writeln!(out, "protection: {}", p.summary)?;
    }
    if !r.scopes.is_empty() {
        writeln!(out, "\nscopes (nearest to its limit first):")?;
        let mut table = Table::new(&[
            ("budget", Align::Left),
            ("spent", Align::Right),
            ("limit", Align::Right),
            ("", Align::Right),
            ("resets", Align::Left),
        ]);
        table.droppable("resets", 1);
        for s in &r.scopes {
            let show = |x: f64| if s.unit == "tokens" { format!("{} tokens", thousands(x as u64)) } else { usd(x) };
            let cells = vec![
                s.name.clone(),
                show(s.spent),
                show(s.limit),
                format!("{:.0}%", s.fraction * 100.0),
                s.resets.clone().unwrap_or_default(),
            ];
            table.row(RowKind::Body, cells);
        }
        out.push_str(&table.render_fit(Style::new(false, true), width));
    }
    for p in &r.plan {
        let age = p.age_minutes.map(|m| format!(", seen {m} min ago")).unwrap_or_default();
        let resets = p.resets_at.as_deref().map(|at| format!(", resets {at}")).unwrap_or_default();
        let stale = if p.current { "" } else { " (the window has reset since: ignored)" };
        writeln!(out, "plan {}: {:.0}% used{resets}{age}{stale}", p.window, p.used_percentage)?;
    }
    if r.sessions.is_empty() {
        writeln!(out, "\nno session has spent anything today")?;
    } else {
        let mut table = Table::new(&[
            ("session", Align::Left),
            ("spent", Align::Right),
            ("today", Align::Right),
            ("state", Align::Left),
            ("gates", Align::Left),
            ("project", Align::Left),
        ]);
        table.shortenable("session", 13).droppable("today", 1).droppable("gates", 2);
        for s in &r.sessions {
            let project = format!("{}{}", s.project, if s.guessed_price { " (guessed price)" } else { "" });
            let cells = vec![
                s.session_id.clone(),
                amount(s.totals.cost_usd, s.totals.lower_bound),
                usd(s.today_cost_usd),
                s.state.to_owned(),
                s.gates.to_owned(),
                project,
            ];
            table.row(RowKind::Body, cells);
        }
        writeln!(out)?;
        out.push_str(&table.render_fit(Style::new(false, true), width));
        for s in &r.sessions {
            if s.provisional_usd > 0.0 || s.reserved_usd > 0.0 {
                writeln!(
                    out,
                    "{}: + {} reported by the mod, not in the transcripts yet; {} held by requests in flight",
                    s.session_id,
                    usd(s.provisional_usd),
                    usd(s.reserved_usd)
                )?;
            }
            // A hook's halt is the usual one (the line below says how to lift it); the mod's is news.
            if let Some(h) = s.halted.as_ref().filter(|h| s.state == "blocked" && h.by == "mod") {
                writeln!(out, "{}: halted by the {} at {} ({})", s.session_id, h.by, h.at, h.event)?;
            }
            if let Some(lift) = &s.lift {
                writeln!(out, "{} {}: to let it go on, run `{lift}` in a terminal", s.state, s.session_id)?;
            }
        }
    }
    if !r.guessed_prices.is_empty() {
        let guesses: Vec<String> = r.guessed_prices.iter().map(|(m, like)| format!("{m} as {like}")).collect();
        writeln!(out, "\nguessed prices (models no price table knows): {}", guesses.join(", "))?;
    }
    if let Some(h) = &r.last_hook {
        let ms = |us: u64| us as f64 / 1000.0;
        writeln!(
            out,
            "\nlast hook: {} {} in {:.2} ms (parse {:.2}, lock {:.2}, read+price {:.2}, wait {:.2}, decide {:.2}); {} files, {} bytes{}",
            h.event,
            h.at.clone().unwrap_or_default(),
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
    if !r.alerts.channels.is_empty() {
        writeln!(out, "\nalerts: {}", r.alerts.channels.join(", "))?;
        for failing in &r.alerts.failing {
            writeln!(out, "  FAIL {failing}")?;
        }
    }
    if let Some(t) = &r.team {
        let sync = t.last_sync.as_deref().map_or("never synced".to_owned(), |at| format!("last sync {at}"));
        let server = match &t.error {
            Some(error) => format!("server UNREACHABLE: {error}"),
            None => "server reachable".to_owned(),
        };
        writeln!(
            out,
            "\nteam {}: ${:.2} today (daily budget ${:.2}); {sync}; {server}; {} response(s) to push (`ccbreaker team \
             status` reads the server now)",
            t.team, t.day_cost_usd, t.daily_usd, t.pending
        )?;
    }
    for note in &r.notes {
        writeln!(out, "note: {note}")?;
    }
    writeln!(out, "\nmode:   {}", r.mode)?;
    for check in &r.boundary {
        writeln!(out, "  {} {}", if check.ok { "ok  " } else { "FAIL" }, check.what)?;
    }
    writeln!(out, "config: {}\nstate:  {}", r.config, r.state_dir)
}
