//! Team budgets (`[team]`): every member's machine pushes the responses its ledger counted to one Redis server the
//! team already runs, and judges the team's day, month and member-day totals it reads back with its own budgets.
//!
//! What is pushed is the key index itself (`ledger/keys.rs`): every response counted, and every re-pricing of one,
//! is a record there; `team.json` in the state directory says how far each day's log was pushed. The records not
//! pushed yet are the pending events: kept as long as the key index (40 days), pushed by the next call that reaches
//! the server, never lost. A response is pushed with its whole cost under its `message.id:requestId` (see
//! `push.lua`), so pushing it again, from this machine or another, never counts it twice.
//!
//! A hook call makes at most one round trip (`resp.rs`), under the ledger lock, within `team.timeout_ms`; with
//! nothing new to push, totals read less than `team.cache_ms` ago are reused without one.

pub(crate) mod resp;

use crate::alert::Alert;
use crate::config::{AlertKind, OnUnreachable, Team};
use crate::env::Env;
use crate::files::{self, Durability};
use crate::ledger::keys::{KeyIndex, KeysError, Record};
use crate::usage::Pico;
use crate::zone::Zone;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use resp::{Reply, RespError, Target};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The script every push runs, atomically on the server.
const SCRIPT: &str = include_str!("push.lua");

/// At most this many records go in one push (a few milliseconds of the server's time, well within `timeout_ms`): a
/// first push of weeks of history is spread over calls.
const BATCH: usize = 256;

/// Why team mode cannot run. None of them shows the URL's credentials.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TeamError {
    #[error("`[team]` in the config needs `redis_url` (or the environment variable CCBREAKER_REDIS_URL)")]
    NoUrl,
    /// `CCBREAKER_REDIS_URL` is not a usable URL (the value is not repeated: it may hold a password).
    #[error("CCBREAKER_REDIS_URL {0}")]
    EnvUrl(String),
    #[error(transparent)]
    Keys(#[from] KeysError),
}

/// The team's totals as last read from the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Totals {
    /// The team's day (in `team.timezone`) and what the team spent in it.
    pub day: Option<NaiveDate>,
    pub day_cost: Pico,
    /// `YYYY-MM`, and what the team spent in it.
    pub month: String,
    pub month_cost: Pico,
    /// Each member's spend of the day, most first.
    pub members: Vec<(String, Pico)>,
}

/// `team.json`: how far each key log was pushed, and what the last exchange read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Saved {
    /// Which server, database and team the cursors are for (another one starts them over).
    pub target: String,
    /// Records of each UTC day's key log pushed.
    pub pushed: BTreeMap<NaiveDate, u64>,
    pub totals: Totals,
    /// When the totals were read.
    pub synced_at: Option<DateTime<Utc>>,
    /// The last exchange reached the server.
    pub reachable: bool,
    /// Since when the server has not answered, and why (no credentials in it).
    pub unreachable_since: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Records not pushed yet, as of the last call.
    pub pending: u64,
    /// Round trip of the last exchange, in microseconds.
    pub round_trip_us: u64,
    /// The warnings shown on this machine: each team budget's, for which day or month.
    #[serde(default)]
    pub warned: BTreeMap<String, String>,
}

fn saved_path(state_dir: &Path) -> PathBuf {
    state_dir.join("team.json")
}

impl Saved {
    /// `team.json`, or nothing pushed yet if it is missing or unreadable (pushing again never counts twice).
    pub(crate) fn load(state_dir: &Path) -> Saved {
        std::fs::read(saved_path(state_dir)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    fn store(&self, state_dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("the team state always serialises");
        files::write_atomic(&saved_path(state_dir), &bytes, Durability::Cache, None)
    }
}

/// The server, the team and the member this machine pushes as.
pub(crate) struct Setup {
    pub target: Target,
    pub name: String,
    pub member: String,
    pub zone: Zone,
    pub timeout: Duration,
    /// `team.tls_ca_file`: a CA a `rediss://` server's certificate may be signed by, beside the web's roots.
    pub ca_file: Option<PathBuf>,
}

impl Setup {
    /// From `[team]` and the environment (`CCBREAKER_REDIS_URL` wins over `team.redis_url`; the member defaults to
    /// the OS user name).
    pub(crate) fn new(team: &Team, env: &Env) -> Result<Setup, TeamError> {
        let target = match (&env.redis_url, &team.redis_url) {
            (Some(url), _) => Target::parse(url.expose().trim()).map_err(TeamError::EnvUrl)?,
            (None, Some(url)) => Target::parse(url.expose()).expect("checked when the config was read"),
            (None, None) => return Err(TeamError::NoUrl),
        };
        let member = team.member.clone().or_else(|| env.user.clone()).unwrap_or_else(|| "unknown".to_owned());
        Ok(Setup {
            target,
            name: team.name.clone(),
            member,
            zone: team.timezone,
            timeout: Duration::from_millis(team.timeout_ms),
            ca_file: team.tls_ca_file.as_ref().map(|f| crate::paths::expand_home(f, env.home.as_deref())),
        })
    }

    /// Every key of the team starts with this; the braces keep them in one Redis Cluster slot.
    pub(crate) fn prefix(&self) -> String {
        format!("ccbreaker:{{{}}}:", self.name)
    }

    /// What the cursors in `team.json` are for.
    fn fingerprint(&self) -> String {
        format!("{} {}", self.target, self.name)
    }

    /// The script's arguments for one record: its id, cost, day, month and the expiries of its keys (two days past
    /// the day's end; two days past the month's end).
    fn event(&self, message: u64, record: &Record, machine: &mut dyn FnMut() -> String) -> [String; 6] {
        use crate::transcript::line::hash;
        let mut id = format!("{message:016x}:{:016x}", record.request);
        // Keyed by the line's uuid or its bytes (no message id): the same key on another machine is another response.
        if record.request == hash(b"uuid") || record.request == hash(b"line") {
            id = format!("{id}:{}", machine());
        }
        let at = DateTime::from_timestamp_millis(record.at_ms).unwrap_or_default();
        let day = self.zone.date_of(at);
        let first_of_month = day.with_day(1).unwrap_or(day);
        let next_month = first_of_month.checked_add_months(chrono::Months::new(1)).unwrap_or(first_of_month);
        let expiry = |date: NaiveDate| self.zone.start_of(date + Days::new(2)).timestamp().to_string();
        [id, record.cost.0.to_string(), day.to_string(), month_of(day), expiry(day + Days::new(1)), expiry(next_month)]
    }

    /// One round trip that pushes nothing: the totals of `today`.
    pub(crate) fn read(&self, today: NaiveDate) -> Result<Totals, RespError> {
        self.exchange(&[], today)
    }

    /// One round trip: push `events`, read the totals of `today`.
    fn exchange(&self, events: &[[String; 6]], today: NaiveDate) -> Result<Totals, RespError> {
        let month = month_of(today);
        let mut command: Vec<Vec<u8>> = Vec::with_capacity(8 + events.len() * 6);
        for word in ["EVAL", SCRIPT, "0", &self.prefix(), &self.member, &today.to_string(), &month] {
            command.push(word.as_bytes().to_vec());
        }
        command.push(events.len().to_string().into_bytes());
        command.extend(events.iter().flatten().map(|w| w.as_bytes().to_vec()));
        let replies = resp::exchange(&self.target, self.ca_file.as_deref(), &[command], self.timeout)?;
        let bad = || RespError::Protocol { target: self.target.to_string(), what: "a script reply of another shape" };
        match replies.first() {
            Some(Reply::Array(Some(items))) if items.len() == 4 => {
                let pico = |r: &Reply| r.int().filter(|n| *n >= 0).map(|n| Pico(n as u64)).ok_or_else(bad);
                let mut members = Vec::new();
                if let Reply::Array(Some(pairs)) = &items[2] {
                    for pair in pairs.chunks_exact(2) {
                        let name = pair[0].text().ok_or_else(bad)?;
                        let cost = pico(&pair[1])?;
                        if cost > Pico(0) {
                            members.push((name, cost));
                        }
                    }
                }
                members.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Ok(Totals {
                    day: Some(today),
                    day_cost: pico(&items[0])?,
                    month,
                    month_cost: pico(&items[1])?,
                    members,
                })
            }
            Some(Reply::Error(message)) => {
                Err(RespError::Server { target: self.target.to_string(), message: message.clone() })
            }
            _ => Err(bad()),
        }
    }
}

/// `YYYY-MM`: a month's key.
pub(crate) fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// This machine's name, for the keys of responses without ids.
fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// What one hook call knows of the team: the totals it judges and whether they are fresh from the server.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub totals: Totals,
    /// This member's spend of the day, as the server has it (plus what is pending when it could not be reached).
    pub member_day: Pico,
    pub reachable: bool,
    /// The server could not be reached, and why (no credentials in it).
    pub error: Option<String>,
    pub pending: u64,
}

/// The hook's step, under the ledger lock once the transcripts are read: pushes what the key index holds beyond
/// `team.json`'s cursors (this call's records included), reads the totals, and records how far it got.
/// `committed` is the ledger's committed record count per day.
pub(crate) fn sync(
    setup: &Setup,
    team: &Team,
    state_dir: &Path,
    keys: &KeyIndex,
    committed: &BTreeMap<NaiveDate, u64>,
    now: DateTime<Utc>,
) -> Result<View, TeamError> {
    let mut saved = Saved::load(state_dir);
    if saved.target != setup.fingerprint() {
        saved = Saved { target: setup.fingerprint(), ..Saved::default() };
    }
    let (mut records, starts) = keys.since(committed, &saved.pushed)?;
    let later = records.split_off(records.len().min(BATCH));
    let mut upto = starts;
    for (day, _, _) in &records {
        *upto.entry(*day).or_default() += 1;
    }
    let today = setup.zone.date_of(now);
    let mut machine = None;
    let mut name = || machine.get_or_insert_with(machine_name).clone();
    let events: Vec<[String; 6]> =
        records.iter().map(|(_, message, record)| setup.event(*message, record, &mut name)).collect();
    let cached = saved.reachable
        && saved.synced_at.is_some_and(|at| {
            saved.totals.day == Some(today)
                && now >= at
                && now - at < chrono::Duration::milliseconds(team.cache_ms as i64)
        });
    let reuse = events.is_empty() && cached;
    let pending_before = saved.pending;
    let mut view = if reuse {
        View { totals: saved.totals.clone(), member_day: Pico(0), reachable: true, error: None, pending: 0 }
    } else {
        let started = std::time::Instant::now();
        match setup.exchange(&events, today) {
            Ok(totals) => {
                saved.round_trip_us = started.elapsed().as_micros() as u64;
                saved.pushed = upto;
                saved.totals = totals.clone();
                saved.synced_at = Some(now);
                saved.reachable = true;
                saved.unreachable_since = None;
                saved.error = None;
                View { totals, member_day: Pico(0), reachable: true, error: None, pending: 0 }
            }
            Err(err) => {
                let why = crate::error::report(&err);
                saved.reachable = false;
                saved.unreachable_since.get_or_insert(now);
                saved.error = Some(why.clone());
                // The last totals read, plus what this machine counted that the server has not got.
                let mut totals = if saved.totals.day == Some(today) { saved.totals.clone() } else { Totals::default() };
                totals.day = Some(today);
                totals.month = month_of(today);
                if saved.totals.month != totals.month {
                    totals.month_cost = Pico(0);
                }
                let mut mine = Pico(0);
                for (_, _, record) in records.iter().chain(&later) {
                    let day = setup.zone.date_of(DateTime::from_timestamp_millis(record.at_ms).unwrap_or_default());
                    if day == today {
                        totals.day_cost = totals.day_cost.saturating_add(record.cost);
                        mine = mine.saturating_add(record.cost);
                    }
                    if month_of(day) == totals.month {
                        totals.month_cost = totals.month_cost.saturating_add(record.cost);
                    }
                }
                let listed = totals.members.iter().find(|(m, _)| *m == setup.member).map_or(Pico(0), |m| m.1);
                View {
                    member_day: listed.saturating_add(mine),
                    totals,
                    reachable: false,
                    error: Some(why),
                    pending: (records.len() + later.len()) as u64,
                }
            }
        }
    };
    if view.reachable {
        view.member_day = view.totals.members.iter().find(|(m, _)| *m == setup.member).map_or(Pico(0), |m| m.1);
        view.pending = later.len() as u64;
    }
    saved.pending = view.pending;
    // Written before the ledger is saved: a cursor past what the ledger then commits starts its day over (see
    // `KeyIndex::since`), which only pushes again. A call that reused the totals changed nothing.
    if !reuse || saved.pending != pending_before {
        let _ = saved.store(state_dir);
    }
    Ok(view)
}

/// Which team budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Day,
    Month,
    MemberDay,
}

/// One team budget's spend against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    pub scope: Scope,
    pub spent: Pico,
    pub limit: Pico,
}

/// The team budgets that are on, with what the view says was spent.
pub(crate) fn standings(team: &Team, view: &View) -> Vec<Standing> {
    [
        (Scope::Day, view.totals.day_cost, team.daily_usd),
        (Scope::Month, view.totals.month_cost, team.monthly_usd),
        (Scope::MemberDay, view.member_day, team.member_daily_usd),
    ]
    .into_iter()
    .filter(|(_, _, usd)| *usd > 0.0)
    .map(|(scope, spent, usd)| Standing { scope, spent, limit: Pico::from_usd(usd) })
    .collect()
}

/// What the team's side says about a call: nothing, or a block and why.
pub(crate) fn block_reason(team: &Team, setup: &Setup, view: &View, config_path: &str) -> Option<String> {
    if !view.reachable && team.on_unreachable == OnUnreachable::Block {
        return Some(format!(
            "ccbreaker: the team's budget server cannot be reached ({}), and team.on_unreachable is \"block\" in {}: \
             this call is blocked until it answers.",
            view.error.as_deref().unwrap_or("no answer"),
            config_path
        ));
    }
    let breach = standings(team, view).into_iter().find(|s| s.spent >= s.limit)?;
    let top: Vec<String> = view.totals.members.iter().take(3).map(|(m, c)| format!("{m} {c}")).collect();
    let top = if top.is_empty() { String::new() } else { format!(" Top members today: {}.", top.join(", ")) };
    let day = view.totals.day.map(|d| d.to_string()).unwrap_or_default();
    let zone = setup.zone.name();
    let stale = if view.reachable { "" } else { " (the last total read, plus this machine's spend since)" };
    let what = match breach.scope {
        Scope::Day => format!(
            "team daily budget reached: team `{}` has spent {}{stale} today ({day}, {zone}) of its {} daily budget \
             (team.daily_usd). It resets at midnight {zone}",
            setup.name, breach.spent, breach.limit
        ),
        Scope::Month => format!(
            "team monthly budget reached: team `{}` has spent {}{stale} in {} ({zone}) of its {} monthly budget \
             (team.monthly_usd); today the team has spent {}. It resets on the 1st",
            setup.name, breach.spent, view.totals.month, breach.limit, view.totals.day_cost
        ),
        Scope::MemberDay => format!(
            "member daily budget reached: {} has spent {}{stale} today ({day}, {zone}) across their machines, of the \
             {} each member may spend in a day (team.member_daily_usd); the team has spent {} today. It resets at \
             midnight {zone}",
            setup.member, breach.spent, breach.limit, view.totals.day_cost
        ),
    };
    Some(format!(
        "ccbreaker: {what}.{top} A team budget is raised only in {config_path} (`ccbreaker allow` lifts this machine's budgets, not the team's)."
    ))
}

/// What the team's side of one hook call says: a block and why, a warning to show, and an alert to raise (a team
/// budget reached or nearly, or the server unreachable).
pub(crate) struct Check {
    pub block: Option<String>,
    pub warn: Option<String>,
    pub alert: Option<Alert>,
}

/// How a hook call asks the team: the config file (named in messages), `budget.warn_at`, and whether the call can
/// show a warning (a warning is marked as shown only then).
pub(crate) struct Asking<'a> {
    pub config: &'a str,
    pub warn_at: f64,
    pub can_warn: bool,
}

/// The hook's team step (see [`sync`]) and its judgement.
pub(crate) fn check(
    team: &Team,
    env: &Env,
    state_dir: &Path,
    keys: &KeyIndex,
    committed: &BTreeMap<NaiveDate, u64>,
    now: DateTime<Utc>,
    asking: &Asking,
) -> Result<Check, TeamError> {
    let setup = Setup::new(team, env)?;
    let view = sync(&setup, team, state_dir, keys, committed, now)?;
    let block = block_reason(team, &setup, &view, asking.config);
    let warned = match (&block, asking.can_warn && asking.warn_at > 0.0 && asking.warn_at < 1.0) {
        (None, true) => warn(team, &setup, &view, asking.warn_at, state_dir),
        _ => Vec::new(),
    };
    let day = view.totals.day.map(|d| d.to_string()).unwrap_or_default();
    let alert = match (&block, view.reachable) {
        (Some(reason), _) => {
            let breach = standings(team, &view).into_iter().find(|s| s.spent >= s.limit);
            let title = match breach {
                Some(s) => format!(
                    "ccbreaker: team `{}` {} budget reached: {} of {}",
                    setup.name,
                    s.scope.name(),
                    s.spent,
                    s.limit
                ),
                None => format!("ccbreaker: team `{}`: its server cannot be reached; calls are blocked", setup.name),
            };
            let mut alert =
                Alert::new(AlertKind::Block, format!("team:{}:{day}", setup.name), title, reason.clone(), now);
            if let Some(s) = breach {
                alert.spent_usd = Some(s.spent.usd());
                alert.limit_usd = Some(s.limit.usd());
            }
            Some(alert)
        }
        (None, false) => {
            let title = format!("ccbreaker: team `{}`: its budget server cannot be reached", setup.name);
            let message = format!(
                "{} ({}); the team budgets are judged on the last totals read plus this machine's spend since, and \
                 {} response(s) wait to be pushed (team.on_unreachable is \"allow\").",
                setup.target,
                view.error.as_deref().unwrap_or("no answer"),
                view.pending
            );
            Some(Alert::new(AlertKind::FailOpen, format!("team:{}:server", setup.name), title, message, now))
        }
        (None, true) => warned.first().map(|s| {
            let title = format!(
                "ccbreaker: team `{}` {} budget at {}% ({} of {})",
                setup.name,
                s.scope.name(),
                percent(s),
                s.spent,
                s.limit
            );
            let mut alert =
                Alert::new(AlertKind::Warn, format!("team:{}:{day}", setup.name), title.clone(), title, now);
            alert.spent_usd = Some(s.spent.usd());
            alert.limit_usd = Some(s.limit.usd());
            alert
        }),
    };
    let warn = (!warned.is_empty()).then(|| {
        let parts: Vec<String> = warned
            .iter()
            .map(|s| {
                let (spent, limit, p) = (s.spent, s.limit, percent(s));
                match s.scope {
                    Scope::Day => {
                        format!("team `{}` has spent {spent} today of its {limit} daily budget ({p}%)", setup.name)
                    }
                    Scope::Month => {
                        format!(
                            "team `{}` has spent {spent} this month of its {limit} monthly budget ({p}%)",
                            setup.name
                        )
                    }
                    Scope::MemberDay => format!(
                        "{} has spent {spent} today on all their machines, of the {limit} member daily budget ({p}%)",
                        setup.member
                    ),
                }
            })
            .collect();
        format!("ccbreaker: {}.", parts.join("; "))
    });
    Ok(Check { block, warn, alert })
}

fn percent(s: &Standing) -> u64 {
    (s.spent.0 as u128 * 100 / s.limit.0.max(1) as u128) as u64
}

/// The team budgets past `warn_at` not yet warned of on this machine in their day or month: marked as warned now.
fn warn(team: &Team, setup: &Setup, view: &View, warn_at: f64, state_dir: &Path) -> Vec<Standing> {
    let per_mille = (warn_at * 1000.0).round() as u128;
    let period = |scope: Scope| match scope {
        Scope::Month => view.totals.month.clone(),
        Scope::Day | Scope::MemberDay => view.totals.day.map(|d| d.to_string()).unwrap_or_default(),
    };
    let mut saved = Saved::load(state_dir);
    let fresh: Vec<Standing> = standings(team, view)
        .into_iter()
        .filter(|s| s.spent.0 as u128 * 1000 >= s.limit.0 as u128 * per_mille)
        .filter(|s| saved.warned.get(s.scope.name()) != Some(&period(s.scope)))
        .collect();
    if !fresh.is_empty() && saved.target == setup.fingerprint() {
        for s in &fresh {
            saved.warned.insert(s.scope.name().to_owned(), period(s.scope));
        }
        let _ = saved.store(state_dir);
    }
    fresh
}

impl Scope {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::Day => "daily",
            Scope::Month => "monthly",
            Scope::MemberDay => "member daily",
        }
    }
}
