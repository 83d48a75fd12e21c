//! The Admin API's answers, kept in the state directory (`reconcile-cache.json`) so that a day is fetched again
//! only while its bill can still change: a day is settled two days after it ends (cost data lags usage), and a
//! settled day in the cache is never asked for again. Entries are kept per scope (endpoint generation, base URL
//! and filters); a damaged cache is said and started afresh, never trusted.

use super::{Bill, Cell, RowKey};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const FILE_NAME: &str = "reconcile-cache.json";
const VERSION: u32 = 1;
/// Days after its end that a day's bill is taken as final.
const SETTLE_DAYS: u64 = 2;
/// Days kept: older ones are dropped when the cache is saved.
const KEEP_DAYS: u64 = 400;
const MAX_BYTES: u64 = 256 << 20;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Entry {
    has_tokens: bool,
    has_usd: bool,
    has_requests: bool,
    has_sessions: bool,
    days: BTreeMap<NaiveDate, Day>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Day {
    fetched_at: DateTime<Utc>,
    rows: Vec<(String, Option<String>, Cell)>,
}

pub(crate) struct Cache {
    path: PathBuf,
    stored: Stored,
}

/// What the cache holds for a range, and from which day the rest must be fetched.
pub(crate) struct Plan {
    pub cached: Bill,
    pub cached_days: usize,
    /// `None`: every day is settled and cached.
    pub fetch_from: Option<NaiveDate>,
}

/// Whether a day's bill is final at `now`.
fn settled(day: NaiveDate, now: DateTime<Utc>) -> bool {
    day.checked_add_days(Days::new(1 + SETTLE_DAYS))
        .and_then(|end| end.and_hms_opt(0, 0, 0))
        .is_some_and(|end| end.and_utc() <= now)
}

impl Cache {
    /// The cache in `state_dir`, and a note if it could not be used.
    pub(crate) fn load(state_dir: &Path) -> (Cache, Option<String>) {
        let path = state_dir.join(FILE_NAME);
        let fresh = |path: PathBuf| Cache { path, stored: Stored { version: VERSION, ..Stored::default() } };
        let bytes = match crate::files::read_capped(&path, MAX_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return (fresh(path.clone()), Some(format!("`{}` is too large; it is made again", path.display())));
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return (fresh(path), None),
            Err(err) => {
                return (
                    fresh(path.clone()),
                    Some(format!("could not read `{}` ({err}); it is made again", path.display())),
                );
            }
        };
        match serde_json::from_slice::<Stored>(&bytes) {
            Ok(stored) if stored.version == VERSION => (Cache { path, stored }, None),
            Ok(_) => (fresh(path), None),
            Err(err) => {
                let note = format!("`{}` could not be used ({err}); it is made again", path.display());
                (fresh(path), Some(note))
            }
        }
    }

    /// What `scope` holds for days `first..=last` at `now`.
    pub(crate) fn plan(&self, scope: &str, first: NaiveDate, last: NaiveDate, now: DateTime<Utc>) -> Plan {
        let mut cached = Bill::default();
        let mut cached_days = 0;
        let entry = self.stored.entries.get(scope);
        let mut day = first;
        let fetch_from = loop {
            if day > last {
                break None;
            }
            let Some(stored) = entry.and_then(|e| e.days.get(&day)).filter(|_| settled(day, now)) else {
                break Some(day);
            };
            cached.days.insert(day);
            for (model, session, cell) in &stored.rows {
                cached.add(RowKey { date: day, model: model.clone(), session: session.clone() }, cell);
            }
            cached_days += 1;
            match day.succ_opt() {
                Some(next) => day = next,
                None => break None,
            }
        };
        if let Some(entry) = entry {
            cached.has_tokens = entry.has_tokens;
            cached.has_usd = entry.has_usd;
            cached.has_requests = entry.has_requests;
            cached.has_sessions = entry.has_sessions;
        }
        Plan { cached, cached_days, fetch_from }
    }

    /// Keeps what was fetched for `scope`: every day the bill covers.
    pub(crate) fn store(&mut self, scope: &str, fetched: &Bill, now: DateTime<Utc>) {
        let entry = self.stored.entries.entry(scope.to_owned()).or_default();
        entry.has_tokens = fetched.has_tokens;
        entry.has_usd = fetched.has_usd;
        entry.has_requests = fetched.has_requests;
        entry.has_sessions = fetched.has_sessions;
        for day in &fetched.days {
            entry.days.insert(*day, Day { fetched_at: now, rows: Vec::new() });
        }
        for (key, cell) in &fetched.rows {
            if let Some(day) = entry.days.get_mut(&key.date) {
                day.rows.push((key.model.clone(), key.session.clone(), *cell));
            }
        }
        let oldest = now.date_naive().checked_sub_days(Days::new(KEEP_DAYS)).unwrap_or(NaiveDate::MIN);
        entry.days.retain(|day, _| *day >= oldest);
    }

    /// Writes the cache (atomically; it is only a shortcut, so not synced).
    pub(crate) fn save(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&self.stored).expect("the cache serialises");
        if let Some(dir) = self.path.parent() {
            crate::files::create_private_dir(dir)?;
        }
        crate::files::write_atomic(&self.path, &bytes, crate::files::Durability::Cache, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn settled_days_come_from_the_cache_and_recent_ones_are_fetched_again() {
        let dir = TestDir::new("reconcile-cache");
        let now = day(10).and_hms_opt(12, 0, 0).unwrap().and_utc();
        let (mut cache, note) = Cache::load(dir.path());
        assert!(note.is_none());
        let mut bill = Bill { has_tokens: true, has_usd: true, ..Bill::default() };
        for d in 1..=10 {
            let mut cell = Cell::default();
            cell.tokens[0] = u64::from(d);
            bill.add(RowKey { date: day(d), model: "m".to_owned(), session: None }, &cell);
        }
        bill.days.insert(day(11));
        cache.store("scope", &bill, now);
        cache.save().unwrap();
        let (cache, _) = Cache::load(dir.path());
        let plan = cache.plan("scope", day(1), day(11), now);
        // Day 7 ended on the 8th: settled on the 10th at 00:00. Day 8 is not.
        assert_eq!((plan.cached_days, plan.fetch_from), (7, Some(day(8))));
        assert_eq!(plan.cached.rows.len(), 7);
        assert!(plan.cached.has_usd);
        assert_eq!(cache.plan("other", day(1), day(3), now).fetch_from, Some(day(1)));
        std::fs::write(dir.path().join(FILE_NAME), b"{").unwrap();
        let (cache, note) = Cache::load(dir.path());
        assert!(note.unwrap().contains("could not be used"));
        assert_eq!(cache.plan("scope", day(1), day(2), now).fetch_from, Some(day(1)));
    }
}
