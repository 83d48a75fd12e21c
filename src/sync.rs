//! Bringing the ledger up to date: which transcripts to read this time (the session's own files always; every
//! root's files changed today when a rescan is due), reading them, pricing what is new, pruning what is old.
//!
//! The day budget must count sessions that never run the hook. Walking every root costs a `stat` per file, so it
//! happens at most every `transcripts.rescan_secs` (and on the first call, and when the day changes); sessions
//! that run the hook bring their own spend in on every call. The day total is therefore exact for hooked
//! sessions and at most `rescan_secs` stale for the others.

use crate::config::Config;
use crate::correction::Correction;
use crate::env::Env;
use crate::error::Error;
use crate::ledger::account::{self, Priced, ReadStats};
use crate::ledger::keys::{KeyIndex, KeysError};
use crate::ledger::store::Locked;
use crate::pricing::{PriceTable, ResponseFacts, Speed};
use crate::transcript::Response;
use crate::transcript::discover::{self, Found};
use crate::zone::Zone;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How long key logs are kept: Claude Code deletes transcripts after 30 days, so older copies cannot appear.
const KEY_DAYS: i64 = 40;

pub(crate) struct Context<'a> {
    /// Where transcripts live; resolved only when a walk is due (resolving them costs syscalls).
    pub roots: Roots<'a>,
    pub zone: Zone,
    pub prices: PriceTable,
    pub now: DateTime<Utc>,
    pub rescan_secs: u64,
    /// Each model's billed/local factor, when `reconcile.correct_budgets` is on and `reconcile` measured one.
    pub correction: Option<Correction>,
}

impl<'a> Context<'a> {
    /// The context for `config` (its prices with their overrides, its roots and zone, the budget correction from
    /// `state_dir` if it is on) at `now`; `config_path` names the config in errors.
    pub(crate) fn new(
        env: &'a Env,
        config: &'a Config,
        config_path: &Path,
        state_dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<Self, Error> {
        Ok(Context {
            roots: Roots::new(env, &config.transcripts.extra_roots),
            zone: config.budget.timezone,
            prices: config.pricing.table(config_path)?,
            now,
            rescan_secs: config.transcripts.rescan_secs,
            correction: Correction::load(state_dir, &config.reconcile)?,
        })
    }

    /// What the ledger's totals are counted in: the zone's days, and the correction if one applies. A ledger made on
    /// another basis is rebuilt from the transcripts.
    pub(crate) fn ledger_basis(&self) -> String {
        match &self.correction {
            None => self.zone.name(),
            Some(correction) => format!("{}, {}", self.zone.name(), correction.basis()),
        }
    }

    /// A response's price as the budgets see it: corrected by its model's factor when a correction applies.
    pub(crate) fn budget_cost(&self, model: &str, cost: crate::usage::Pico) -> crate::usage::Pico {
        match &self.correction {
            None => cost,
            Some(correction) => correction.apply(model, cost),
        }
    }
}

/// The transcript roots, resolved on first use.
pub(crate) struct Roots<'a> {
    env: &'a crate::env::Env,
    extra: &'a [PathBuf],
    resolved: std::cell::OnceCell<Vec<PathBuf>>,
}

impl<'a> Roots<'a> {
    pub(crate) fn new(env: &'a Env, extra: &'a [PathBuf]) -> Roots<'a> {
        Roots { env, extra, resolved: std::cell::OnceCell::new() }
    }

    pub(crate) fn get(&self) -> &[PathBuf] {
        self.resolved.get_or_init(|| crate::paths::transcript_roots(self.env, self.extra))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Synced {
    pub stats: ReadStats,
    pub scanned: bool,
}

pub(crate) enum Scan {
    /// Walk the roots if the last walk is older than `rescan_secs` (the hook).
    IfDue,
    /// Walk them now (status, reports).
    Now,
}

/// Reads the session's own transcripts (if any) and, when due, every root; updates the ledger in `locked`.
/// A key log that lost records the ledger had committed (a damaged disk, a hand edit) makes de-duplication
/// unreliable: the ledger is then started afresh and everything read again, once.
pub(crate) fn sync(locked: &mut Locked, own: Option<&Path>, scan: Scan, ctx: &Context) -> Result<Synced, KeysError> {
    match sync_once(locked, own, scan, ctx) {
        Err(err @ KeysError::Short { .. }) => {
            locked.reset(&err.to_string());
            sync_once(locked, own, Scan::Now, ctx)
        }
        other => other,
    }
}

fn sync_once(locked: &mut Locked, own: Option<&Path>, scan: Scan, ctx: &Context) -> Result<Synced, KeysError> {
    let today = ctx.zone.date_of(ctx.now);
    let day_start = ctx.zone.start_of(today);
    let due = match scan {
        Scan::Now => true,
        Scan::IfDue => locked.ledger.last_scan.is_none_or(|last| {
            let last = DateTime::from_timestamp(last, 0).unwrap_or_default();
            ctx.now.signed_duration_since(last) >= Duration::seconds(ctx.rescan_secs as i64) || last < day_start
        }),
    };
    let mut sources: Vec<Found> = Vec::new();
    if let Some(transcript) = own {
        let session = discover::session_of_transcript(transcript);
        let project = discover::project_of_transcript(transcript);
        for (path, stat) in discover::session_files(transcript) {
            sources.push(Found { path, session: session.clone(), project: project.clone(), stat, own: true });
        }
    }
    if due {
        let since = SystemTime::from(day_start);
        let seen: HashSet<PathBuf> = sources.iter().map(|f| f.path.clone()).collect();
        sources.extend(discover::changed_since(ctx.roots.get(), since).into_iter().filter(|f| !seen.contains(&f.path)));
    }
    let mut notes = Vec::new();
    let reads: Vec<_> = sources.iter().filter_map(|s| account::read_source(&locked.ledger, s, &mut notes)).collect();
    let prices = &ctx.prices;
    let price = |r: &Response| {
        let priced = price_response(prices, r);
        Priced { cost: ctx.budget_cost(&r.model, priced.cost), ..priced }
    };
    let stats = account::apply(&mut locked.ledger, &mut locked.keys, reads, &price, ctx.zone, ctx.now)?;
    for note in notes {
        locked.ledger.note(note);
    }
    if due {
        locked.ledger.last_scan = Some(ctx.now.timestamp());
        let keep_from = day_start - Duration::days(1);
        let keys_from = ctx.now.date_naive() - Duration::days(KEY_DAYS);
        let own_session = own.and_then(discover::session_of_transcript).unwrap_or_default();
        locked.ledger.prune(keep_from, keys_from, &own_session);
        KeyIndex::prune(&locked.store().dir().join("keys"), keys_from);
        crate::files::remove_stale_temps(locked.store().dir());
    }
    Ok(Synced { stats, scanned: due })
}

/// Prices one response with the table (the only place transcript facts meet prices).
pub(crate) fn price_response(prices: &PriceTable, r: &Response) -> Priced {
    let facts = ResponseFacts {
        model: &r.model,
        usage: &r.usage,
        speed: if r.fast { Speed::Fast } else { Speed::Standard },
        inference_geo: r.inference_geo.as_deref(),
        date: r.timestamp.date_naive(),
    };
    let price = prices.price(&facts);
    Priced { cost: price.cost, known_model: price.known_model }
}
