//! What the live views (`watch`, `dashboard`) show, and when they look again. A [`Frame`] is `status`'s snapshot
//! (the very value `status --json` prints) plus what only a live view needs: the burn rate over the last 10 and 60
//! minutes (from the key logs, read only as they grow), when each budget is reached at that rate, the current 5-hour
//! block and its projection (from the report, through its cache), plan usage, and the last alerts and breaker trips.
//! [`Live::changed`] says with a few `stat`s whether anything moved, so an idle view costs next to nothing; nothing
//! here rescans every transcript on a refresh.

use super::Io;
use super::status::{self, Followed, Report};
use crate::config::Config;
use crate::error::Error;
use crate::ledger::keys;
use crate::place::Place;
use crate::report::collect::{Collected, Sources};
use crate::report::rows::Detail;
use crate::report::{Kind, Options};
use crate::sync::Scan;
use crate::usage::Pico;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

/// How often a live view looks for changes (a `stat` of each watched file: a change shows within this).
pub(super) const TICK: std::time::Duration = std::time::Duration::from_millis(250);
/// The burn rate's windows, in minutes.
const SHORT_MIN: i64 = 10;
const LONG_MIN: i64 = 60;
/// How often, at most, the report (the 5-hour block, the dashboard's report views) is gathered again, and only
/// after the ledger counted something new.
const REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Alerts and trips shown.
const EVENTS: usize = 8;

/// One refresh of a live view.
#[derive(Debug, Serialize)]
pub(super) struct Frame {
    /// When it was made (RFC 3339).
    pub(super) at: String,
    /// What `status --json` prints.
    pub(super) status: Report,
    pub(super) burn: Burn,
    /// The current 5-hour block, if one is open.
    pub(super) block: Option<Block>,
    /// Plan usage from the statusline (`plan-usage.json`), when known.
    pub(super) plan: Vec<PlanRow>,
    /// The last alerts and breaker trips, newest first.
    pub(super) events: Vec<Event>,
}

#[derive(Debug, Serialize)]
pub(super) struct Burn {
    pub(super) usd_per_hour_10m: f64,
    pub(super) usd_per_hour_60m: f64,
    /// When each budget of `status.scopes` is reached at each rate.
    pub(super) reach: Vec<Reach>,
}

#[derive(Debug, Serialize)]
pub(super) struct Reach {
    pub(super) scope: String,
    /// Minutes from now; 0 when reached already, `None` when spend is not growing.
    pub(super) minutes_10m: Option<f64>,
    pub(super) minutes_60m: Option<f64>,
}

#[derive(Debug, Serialize)]
pub(super) struct Block {
    pub(super) start: String,
    pub(super) end: String,
    pub(super) cost_usd: f64,
    pub(super) usd_per_hour: Option<f64>,
    pub(super) projected_usd: Option<f64>,
}

#[derive(Debug, Serialize)]
pub(super) struct PlanRow {
    pub(super) window: String,
    pub(super) used_percent: f64,
    pub(super) resets_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Event {
    pub(super) at: String,
    /// `alert`, or the audit trail's `block`, `refuse`, `error`.
    pub(super) kind: String,
    pub(super) session: Option<String>,
    pub(super) detail: String,
}

/// A file's length and modification time, as last seen.
type Stamp = Option<(u64, SystemTime)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// The state of a live view between refreshes.
pub(super) struct Live<'a> {
    pub(super) config: &'a Config,
    pub(super) place: &'a Place,
    /// The files whose change means a refresh: state files, then the transcripts of today's sessions.
    watched: Vec<(PathBuf, Stamp)>,
    /// How many of `watched` are state files (a change there needs no walk).
    state_files: usize,
    last_refresh: Instant,
    burn: BurnLog,
    collected: Option<(Instant, Collected)>,
    /// The day's cost and responses at the last refresh: when they move, the report is out of date.
    counted: (f64, u64),
    report_stale: bool,
}

impl<'a> Live<'a> {
    pub(super) fn new(config: &'a Config, place: &'a Place) -> Live<'a> {
        let dir = &place.state_dir;
        let mut watched: Vec<(PathBuf, Stamp)> =
            ["ledger-a.bin", "ledger-b.bin", "allowances.json", "alerts.json", "plan-usage.json", "audit.log"]
                .iter()
                .map(|name| (dir.join(name), None))
                .collect();
        watched.push((place.config_path.clone(), None));
        let state_files = watched.len();
        Live {
            config,
            place,
            watched,
            state_files,
            last_refresh: Instant::now(),
            burn: BurnLog::default(),
            collected: None,
            counted: (0.0, 0),
            report_stale: true,
        }
    }

    /// What a refresh must read now: `None` when nothing changed; a walk of every root when a followed transcript
    /// changed (a session without the hook wrote); the ledger as hooks left it (walking only when
    /// `transcripts.rescan_secs` is due) when a state file changed or that many seconds passed.
    pub(super) fn changed(&self) -> Option<Scan> {
        let moved = |(path, was): &(PathBuf, Stamp)| stamp(path) != *was;
        if self.watched[self.state_files..].iter().any(moved) {
            Some(Scan::Now)
        } else if self.watched[..self.state_files].iter().any(moved)
            || self.last_refresh.elapsed().as_secs() >= self.config.transcripts.rescan_secs.max(1)
        {
            Some(Scan::IfDue)
        } else {
            None
        }
    }

    /// The ledger brought up to date by `scan`, and everything a view shows.
    pub(super) fn frame(&mut self, io: &mut Io, scan: Scan) -> Result<Frame, Error> {
        let now = super::now(&self.place.env)?;
        let (report, followed) = status::snapshot(self.config, self.place, io, now, None, scan)?;
        self.follow(&followed);
        self.burn.read(&self.place.state_dir, &followed.keys, now);
        let (short, long) = (self.burn.rate(now, SHORT_MIN), self.burn.rate(now, LONG_MIN));
        let minutes = |left: f64, rate: f64| {
            if left <= 0.0 {
                Some(0.0)
            } else if rate > 0.0 {
                Some((left / rate * 60.0).round())
            } else {
                None
            }
        };
        let reach = report
            .scopes
            .iter()
            // A burn rate is in dollars: the token budgets have no time to reach here.
            .filter(|s| s.unit == "usd")
            .map(|s| {
                let left = s.limit - s.spent;
                Reach { scope: s.scope.clone(), minutes_10m: minutes(left, short), minutes_60m: minutes(left, long) }
            })
            .collect();
        let counted = (report.day.cost_usd, report.day.responses);
        self.report_stale |= counted != self.counted;
        self.counted = counted;
        let block = self.block(now)?;
        Ok(Frame {
            at: crate::text::rfc3339(now),
            status: report,
            burn: Burn { usd_per_hour_10m: round(short), usd_per_hour_60m: round(long), reach },
            block,
            plan: plan(&self.place.state_dir, now),
            events: events(&self.place.state_dir),
        })
    }

    /// Remembers what was seen at this refresh: a later change to any of it calls for the next.
    fn follow(&mut self, followed: &Followed) {
        self.watched.truncate(self.state_files);
        self.watched.extend(followed.files.iter().map(|(path, _)| PathBuf::from(path)).map(|p| (p, None)));
        for (path, seen) in &mut self.watched {
            *seen = stamp(path);
        }
        self.last_refresh = Instant::now();
    }

    /// Every transcript summed through the report cache: gathered again when the ledger counted something since,
    /// at most every [`REPORT_EVERY`] (an idle view never reads the cache again).
    pub(super) fn collected(&mut self) -> Result<&Collected, Error> {
        let stale = match &self.collected {
            None => true,
            Some((at, _)) => self.report_stale && at.elapsed() >= REPORT_EVERY,
        };
        if stale {
            self.report_stale = false;
            let place = self.place;
            let (prices, _) = crate::sync::prices(self.config, &place.config_path, &place.prices_dir())?;
            let roots = crate::paths::transcript_roots(&place.env, &self.config.transcripts.extra_roots);
            let cache = crate::files::create_private_dir(&place.state_dir)
                .ok()
                .map(|()| place.state_dir.join(crate::report::cache::FILE_NAME));
            let collected =
                crate::report::collect(&Sources { roots: &roots, prices: &prices, cache: cache.as_deref() });
            self.collected = Some((Instant::now(), collected));
        }
        Ok(&self.collected.as_ref().expect("gathered above").1)
    }

    /// When every transcript was last summed (`None`: never yet).
    pub(super) fn gathered_at(&self) -> Option<Instant> {
        self.collected.as_ref().map(|(at, _)| *at)
    }

    /// The report `kind` over every transcript, at `now`.
    pub(super) fn report(&mut self, kind: Kind, now: DateTime<Utc>) -> Result<crate::report::Report, Error> {
        let options = Options {
            zone: self.config.budget.timezone,
            since: None,
            until: None,
            project: None,
            breakdown: false,
            now,
        };
        let collected = self.collected()?;
        Ok(crate::report::build(kind, collected.items(), &collected.subagents(), &options))
    }

    fn block(&mut self, now: DateTime<Utc>) -> Result<Option<Block>, Error> {
        let report = self.report(Kind::Blocks, now)?;
        Ok(report.rows.into_iter().rev().find_map(|row| match row.detail {
            Detail::Block { start, end, active: true, burn_rate_usd_per_hour, projected, .. } => Some(Block {
                start: crate::text::rfc3339(start),
                end: crate::text::rfc3339(end),
                cost_usd: row.totals.spend.cost.usd_for_json(),
                usd_per_hour: burn_rate_usd_per_hour.map(round),
                projected_usd: projected.map(|p| p.usd_for_json()),
            }),
            _ => None,
        }))
    }
}

fn round(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

/// The responses of the last hour from the key logs, each at its latest record, read as the logs grow.
#[derive(Debug, Default)]
struct BurnLog {
    /// Records read so far, per day log.
    read: BTreeMap<NaiveDate, u64>,
    /// Per message hash: its time (ms) and cost.
    recent: HashMap<u64, (i64, Pico)>,
}

impl BurnLog {
    fn read(&mut self, state_dir: &Path, committed: &BTreeMap<NaiveDate, u64>, now: DateTime<Utc>) {
        let since = now - Duration::minutes(LONG_MIN);
        let dir = crate::ledger::store::Store::at(state_dir).keys_dir();
        let first = keys::KeyIndex::log_of(since.timestamp_millis());
        for (&log, &count) in committed.range(first..) {
            let from = self.read.get(&log).copied().unwrap_or(0);
            // A log shorter than before was started afresh (a rebuilt ledger): read it again.
            let from = if from > count { 0 } else { from };
            if let Ok(records) = keys::read_range(&dir, log, from, count) {
                for (message, record) in records {
                    self.recent.insert(message, (record.at_ms, record.cost));
                }
                self.read.insert(log, count);
            }
        }
        self.read.retain(|log, _| *log >= first);
        let since_ms = since.timestamp_millis();
        self.recent.retain(|_, (at, _)| *at >= since_ms);
    }

    /// USD per hour over the last `minutes`.
    fn rate(&self, now: DateTime<Utc>, minutes: i64) -> f64 {
        let (from, to) = ((now - Duration::minutes(minutes)).timestamp_millis(), now.timestamp_millis());
        let spent: u64 = self.recent.values().filter(|(at, _)| (from..=to).contains(at)).map(|(_, cost)| cost.0).sum();
        Pico(spent).usd() * 60.0 / minutes as f64
    }
}

fn plan(state_dir: &Path, now: DateTime<Utc>) -> Vec<PlanRow> {
    crate::plan::read(state_dir)
        .windows
        .into_iter()
        .filter(|(_, w)| w.is_current(now))
        .map(|(window, w)| PlanRow {
            window,
            used_percent: w.used_percentage,
            resets_at: w.resets_at.map(crate::text::rfc3339),
        })
        .collect()
}

/// The alerts last sent (per kind and scope) and the audit trail's blocks and refusals, newest first.
fn events(state_dir: &Path) -> Vec<Event> {
    let mut events: Vec<(DateTime<Utc>, Event)> = Vec::new();
    if let Ok(record) = crate::alert::state::Record::read(state_dir) {
        for (key, at) in record.sent {
            let (kind, scope) = key.split_once(':').unwrap_or((key.as_str(), ""));
            let session = scope.strip_prefix("session:").map(str::to_owned);
            let detail = format!("{kind} alert ({scope})");
            events.push((at, Event { at: crate::text::rfc3339(at), kind: "alert".to_owned(), session, detail }));
        }
    }
    for entry in crate::audit::read(state_dir).unwrap_or_default() {
        use crate::audit::Kind::{Block, Error, Refuse};
        if matches!(entry.kind, Block | Refuse | Error) {
            let event = Event {
                at: crate::text::rfc3339(entry.at),
                kind: entry.kind.as_str().to_owned(),
                session: entry.session,
                detail: entry.detail,
            };
            events.push((entry.at, event));
        }
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.0));
    events.into_iter().take(EVENTS).map(|(_, e)| e).collect()
}
