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
use crate::ledger::account::{self, ReadStats};
use crate::ledger::keys::{KeyIndex, KeysError};
use crate::ledger::state::Ledger;
use crate::ledger::store::Locked;
use crate::place::Place;
use crate::pricing::PriceTable;
use crate::transcript::discover::{self, Found};
use crate::transcript::tail::{Budget, Stat};
use crate::zone::Zone;
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How long key logs are kept: Claude Code deletes transcripts after 30 days, so older copies cannot appear.
const KEY_DAYS: i64 = 40;

pub(crate) struct Context<'a> {
    /// Where transcripts live; resolved only when a walk is due (resolving them costs syscalls).
    pub roots: Roots<'a>,
    pub zone: Zone,
    pub prices: PriceTable,
    /// Why the prices of `ccbreaker prices update` are not used, if they are not.
    pub price_note: Option<String>,
    pub now: DateTime<Utc>,
    pub rescan_secs: u64,
    /// What one sync may read (see [`HOOK_BYTES`]).
    pub budget: Budget,
    /// Each model's billed/local factor, when `reconcile.correct_budgets` is on and `reconcile` measured one; the
    /// prices above apply it already.
    pub correction: Option<Correction>,
    /// How far back a budget counts (a week, a month): the walk reads, and the ledger keeps, from the start of that
    /// period rather than from today.
    pub reach: Option<crate::config::Reach>,
}

/// Bytes one hook call reads at most (soft: a line under way is finished); the rest is read by later calls. A
/// first call reads about 1 GB a second, so this stays far inside the hook's timeout.
pub(crate) const HOOK_BYTES: u64 = 256 << 20;
/// How long after its start a hook call stops reading and answers from what the ledger has.
pub(crate) const HOOK_READ_FOR: std::time::Duration = std::time::Duration::from_millis(3000);
/// How long one walk of every root may take at most within a call that has a deadline (a hook's, a round of
/// `status`): a third of [`HOOK_READ_FOR`].
const WALK_FOR: std::time::Duration = std::time::Duration::from_millis(1000);
/// Transcript files the ledger follows at most (each a cursor of a few hundred bytes): the ledger stays far below
/// its 64 MiB cap whatever lands under a root. The hooked session's own files may take twice as many.
pub(crate) const MAX_TRACKED_FILES: usize = 20_000;
/// Roots learned from hooked sessions whose transcripts lie outside the configured roots.
const MAX_LEARNED_ROOTS: usize = 16;

/// The effective price table: built-in, the last `ccbreaker prices update` over it (from `prices_dir`, see
/// [`Place::prices_dir`]), the config's overrides over both. A stored table that cannot be used is left out, and
/// why is returned.
pub(crate) fn prices(
    config: &Config,
    config_path: &Path,
    prices_dir: &Path,
) -> Result<(PriceTable, Option<String>), crate::config::ConfigError> {
    let (rows, note) = match crate::pricing::stored::load(prices_dir) {
        Ok(stored) => (stored.map(|s| s.rows).unwrap_or_default(), None),
        Err(err) => (Vec::new(), Some(crate::error::report(&err))),
    };
    Ok((config.pricing.table(config_path, rows)?, note))
}

impl<'a> Context<'a> {
    /// The context for `config` in force at `place` (its prices with the stored update and the config's overrides,
    /// corrected by the budget correction if it is on; its roots and zone) at `now`.
    pub(crate) fn new(place: &'a Place, config: &'a Config, now: DateTime<Utc>) -> Result<Self, Error> {
        let (mut prices, price_note) = prices(config, &place.config_path, &place.prices_dir())?;
        let correction = place.correction(&config.reconcile)?;
        prices.set_correction(correction.clone());
        Ok(Context {
            roots: Roots::new(&place.env, &config.transcripts.extra_roots),
            zone: config.budget.timezone,
            prices,
            price_note,
            now,
            rescan_secs: config.transcripts.rescan_secs,
            budget: Budget::UNLIMITED,
            correction,
            reach: config.budget.scopes.reaches_back(),
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
    /// The budget ran out before every file was read: the rest is for a later call.
    pub unfinished: bool,
    /// Files of the hooked session that stopped being what was read from them (why, one per file).
    pub tampered: Vec<String>,
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
    // Where the spend the budgets count begins: today, or the week's or the month's first day.
    let horizon = match ctx.reach {
        None => day_start,
        Some(reach) => {
            let span = match reach {
                crate::config::Reach::Week => crate::policy::Span::Week,
                crate::config::Reach::Month => crate::policy::Span::Month,
            };
            ctx.zone.start_of(crate::standings::period_start(span, today))
        }
    };
    let due = match scan {
        Scan::Now => true,
        Scan::IfDue => locked.ledger.last_scan.is_none_or(|last| {
            let last = DateTime::from_timestamp(last, 0).unwrap_or_default();
            ctx.now.signed_duration_since(last) >= Duration::seconds(ctx.rescan_secs as i64) || last < day_start
        }),
    };
    let mut notes = Vec::new();
    let mut walk_stopped = false;
    let mut sources: Vec<Found> = Vec::new();
    let mut tampered = Vec::new();
    if let Some(transcript) = own {
        let session = discover::session_of_transcript(transcript);
        let project = discover::project_of_transcript(transcript);
        let listed = discover::session_files(transcript, &mut notes);
        if let Some(session) = &session {
            tampered = own_anomalies(&locked.ledger, transcript, session, &listed);
        }
        for (path, stat) in listed {
            sources.push(Found { path, session: session.clone(), project: project.clone(), stat, own: true });
        }
        learn_root(&mut locked.ledger.roots, transcript);
    }
    if due {
        let since = SystemTime::from(horizon);
        let seen: HashSet<PathBuf> = sources.iter().map(|f| f.path.clone()).collect();
        let mut roots = ctx.roots.get().to_vec();
        for learned in &locked.ledger.roots {
            let resolved = std::fs::canonicalize(learned).unwrap_or_else(|_| PathBuf::from(learned));
            if !roots.contains(&resolved) {
                roots.push(resolved);
            }
        }
        // The walk is bounded by the call's time like the reads after it, and picks up where the last one stopped.
        let resume = locked.ledger.walk_from.take().map(PathBuf::from);
        // The walk gets a third of the call's time at most: the reads after it (the session's own files first) need
        // the rest.
        let deadline = ctx.budget.deadline.map(|d| d.min(std::time::Instant::now() + WALK_FOR));
        let mut bound = discover::Bound::until(deadline, resume);
        let found = discover::changed_since(&roots, since, &mut notes, &mut bound);
        sources.extend(found.into_iter().filter(|f| !seen.contains(&f.path)));
        if let Some(stopped) = bound.stopped {
            notes.push(format!(
                "the walk of the transcript directories ran out of the call's time after {} entries; the next walk \
                 goes on after `{}`",
                bound.visited,
                stopped.display()
            ));
            locked.ledger.walk_from = Some(stopped.to_string_lossy().into_owned());
            walk_stopped = true;
        }
    }
    let sources = bounded(&locked.ledger, sources, ctx.now, &mut notes);
    let mut budget = ctx.budget;
    let mut reads = Vec::new();
    let mut unfinished = 0usize;
    for source in &sources {
        if budget.spent() {
            unfinished += 1;
            continue;
        }
        if let Some(read) = account::read_source(&locked.ledger, source, &ctx.prices, &budget, &mut notes) {
            let before = locked.ledger.files.get(read.path()).filter(|_| !read.restarted()).map_or(0, |c| c.offset);
            budget.spend(read.offset().saturating_sub(before));
            if read.stopped() {
                unfinished += 1;
            }
            reads.push(read);
        }
    }
    if unfinished > 0 {
        notes.push(format!(
            "read what one call may ({} MiB or {} s); {unfinished} file(s) are left for the next calls",
            ctx.budget.bytes.min(HOOK_BYTES) >> 20,
            HOOK_READ_FOR.as_secs()
        ));
    }
    let stats = account::apply(&mut locked.ledger, &mut locked.keys, reads, ctx.zone, ctx.now)?;
    for note in notes.into_iter().chain(ctx.price_note.clone()) {
        locked.ledger.note(note);
    }
    if due {
        locked.ledger.last_scan = Some(ctx.now.timestamp());
        let keep_from = horizon - Duration::days(1);
        let keys_from = ctx.now.date_naive() - Duration::days(KEY_DAYS);
        let own_session = own.and_then(discover::session_of_transcript).unwrap_or_default();
        locked.ledger.prune(keep_from, keys_from, &own_session);
        KeyIndex::prune(&locked.store().dir().join("keys"), keys_from);
        crate::files::remove_stale_temps(locked.store().dir());
    }
    Ok(Synced { stats, scanned: due, unfinished: unfinished > 0 || walk_stopped, tampered })
}

/// A file may grow by this much between two looks, plus [`PLAUSIBLE_RATE`] per second since the last growth; a
/// new file may hold [`PLAUSIBLE_NEW`]. Beyond that it is not something Claude Code wrote, and is skipped.
const PLAUSIBLE_BASE: u64 = 1 << 30;
const PLAUSIBLE_RATE: u64 = 64 << 20;
const PLAUSIBLE_NEW: u64 = 4 << 30;

/// The sources worth reading: not empty and new (nothing to read, no cursor worth keeping), not grown beyond what
/// Claude Code could have written since the last look, and no more new files than the ledger may follow (the
/// hooked session's own files first).
fn bounded(ledger: &Ledger, sources: Vec<Found>, now: DateTime<Utc>, notes: &mut Vec<String>) -> Vec<Found> {
    let mut tracked = ledger.files.len();
    let mut untracked = 0usize;
    let mut out = Vec::with_capacity(sources.len());
    for source in sources {
        let cursor = ledger.files.get(source.path.to_string_lossy().as_ref());
        let Some(cursor) = cursor else {
            if source.stat.size == 0 {
                continue;
            }
            if source.stat.size > PLAUSIBLE_NEW {
                notes.push(implausible(&source, source.stat.size));
                continue;
            }
            // The hooked session's own files come first, and get room past the cap: twice it, at most.
            let cap = if source.own { 2 * MAX_TRACKED_FILES } else { MAX_TRACKED_FILES };
            if tracked >= cap {
                untracked += 1;
                continue;
            }
            tracked += 1;
            out.push(source);
            continue;
        };
        let same = cursor.dev == source.stat.id.dev && cursor.ino == source.stat.id.ino;
        let grown = if same { source.stat.size.saturating_sub(cursor.offset) } else { source.stat.size };
        let secs = u64::try_from(now.timestamp().saturating_sub(cursor.touched)).unwrap_or(0);
        if grown > PLAUSIBLE_BASE.saturating_add(PLAUSIBLE_RATE.saturating_mul(secs)).min(PLAUSIBLE_NEW) {
            notes.push(implausible(&source, grown));
            continue;
        }
        out.push(source);
    }
    if untracked > 0 {
        notes.push(format!(
            "{untracked} transcript file(s) were not read: ccbreaker follows at most {MAX_TRACKED_FILES} files"
        ));
    }
    out
}

fn implausible(source: &Found, bytes: u64) -> String {
    format!(
        "skipped `{}`: {bytes} new bytes is more than Claude Code could have written since the last look",
        source.path.display()
    )
}

/// Remembers the root of a hooked session's transcript (`<root>/<project>/<session>.jsonl`), so that the day's walk
/// covers it whatever the environment of the process walking: a child `claude` with its own `CLAUDE_CONFIG_DIR`
/// has its hooks read its transcript, but `status` or the parent's hooks would not know that directory. Roots
/// that are also configured are walked once (the walk resolves and de-duplicates them).
fn learn_root(learned: &mut Vec<String>, transcript: &Path) {
    let Some(root) = transcript.parent().and_then(Path::parent).filter(|r| r.is_absolute()) else { return };
    let text = root.to_string_lossy();
    if learned.iter().any(|r| *r == text) {
        return;
    }
    learned.push(text.into_owned());
    let excess = learned.len().saturating_sub(MAX_LEARNED_ROOTS);
    learned.drain(..excess);
}

/// The hooked session's files that stopped being what ccbreaker read from them: deleted, no longer a regular file
/// (a directory, a symlink to `/dev/null`), or holding less than was read (cut short, or replaced by another file).
/// Claude Code only ever appends to them; each one found is a reason, naming the file.
fn own_anomalies(ledger: &Ledger, transcript: &Path, session: &str, listed: &[(PathBuf, Stat)]) -> Vec<String> {
    let main = transcript.to_string_lossy();
    let dir = transcript.with_extension("");
    let dir = format!("{}{}", dir.to_string_lossy(), std::path::MAIN_SEPARATOR);
    let listed: HashMap<&Path, &Stat> = listed.iter().map(|(p, s)| (p.as_path(), s)).collect();
    let mut found = Vec::new();
    let prefix = &main[..main.len() - transcript.extension().map_or(0, |e| e.len() + 1)];
    for (path, cursor) in ledger.files.range(prefix.to_owned()..) {
        if !path.starts_with(prefix) {
            break;
        }
        if (path.as_str() != main && !path.starts_with(&dir)) || cursor.session != session || cursor.offset == 0 {
            continue;
        }
        let why = match listed.get(Path::new(path)) {
            Some(stat) if stat.size >= cursor.offset => continue,
            // `> file` keeps the inode, and a file removed and written again often gets the same one back.
            Some(stat) if (stat.id.dev, stat.id.ino) == (cursor.dev, cursor.ino) => {
                format!("was cut short ({} bytes, {} were read)", stat.size, cursor.offset)
            }
            Some(stat) => format!(
                "was replaced by another file with less in it ({} bytes, {} were read)",
                stat.size, cursor.offset
            ),
            None => match std::fs::metadata(path) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => "was deleted".to_owned(),
                Err(err) => format!("can no longer be read ({err})"),
                Ok(meta) if meta.is_dir() => "was replaced by a directory".to_owned(),
                Ok(meta) if !meta.is_file() => "was replaced by something that is not a regular file".to_owned(),
                Ok(_) => continue,
            },
        };
        found.push(format!("`{path}` {why}"));
    }
    found
}
