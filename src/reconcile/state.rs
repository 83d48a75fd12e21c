//! Every flag `reconcile` has raised, kept in the state directory (`reconcile-flags.json`) with when it was first
//! seen and whether it has been sent: a flag that appears for the first time is "new" (the digest line says so),
//! and `reconcile` sends an alert for the ones with `notified: false` through the alert channels and marks them
//! sent. The last run's digest line is kept for `ccbreaker digest`.

use super::compare::Flag;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub(crate) const FILE_NAME: &str = "reconcile-flags.json";
const VERSION: u32 = 1;
/// Flags about days older than this are forgotten.
const KEEP_DAYS: u64 = 400;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Stored {
    version: u32,
    last_run: Option<DateTime<Utc>>,
    /// The last run's digest line (`ccbreaker digest` shows it).
    last_digest: Option<String>,
    flags: Vec<Recorded>,
}

/// One flag as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Recorded {
    pub kind: String,
    pub date: Option<NaiveDate>,
    pub model: Option<String>,
    pub session: Option<String>,
    pub ratio: Option<f64>,
    pub detail: String,
    pub first_seen: DateTime<Utc>,
    /// Set by whatever delivers alerts, once it has.
    pub notified: bool,
}

impl Recorded {
    fn same(&self, flag: &Flag) -> bool {
        self.kind == flag.kind && self.date == flag.date && self.model == flag.model && self.session == flag.session
    }

    fn same_as(&self, other: &Recorded) -> bool {
        self.kind == other.kind && self.date == other.date && self.model == other.model && self.session == other.session
    }
}

/// The record in `state_dir`, and a note if it was damaged (it is then started afresh, so its flags count as new
/// again: an alert repeated, never one lost).
fn load(state_dir: &Path) -> std::io::Result<(Stored, Option<String>)> {
    let path = state_dir.join(FILE_NAME);
    Ok(match crate::files::read_optional(&path)? {
        None => (Stored::default(), None),
        Some(bytes) => match serde_json::from_slice::<Stored>(&bytes) {
            Ok(stored) if stored.version == VERSION => (stored, None),
            Ok(_) => (Stored::default(), None),
            Err(err) => (
                Stored::default(),
                Some(format!("`{}` could not be read ({err}); it is started afresh", path.display())),
            ),
        },
    })
}

fn store(state_dir: &Path, stored: &mut Stored) -> std::io::Result<()> {
    stored.version = VERSION;
    let bytes = serde_json::to_vec_pretty(stored).expect("flags serialise");
    crate::files::create_private_dir(state_dir)?;
    crate::files::write_atomic(&state_dir.join(FILE_NAME), &bytes, crate::files::Durability::Synced, None)
}

/// The last run's digest line, if a run recorded one.
pub(crate) fn last_digest(state_dir: &Path) -> Option<String> {
    load(state_dir).ok()?.0.last_digest
}

/// The flags no alert has gone out for yet (the run's own and any an earlier run could not send).
pub(crate) fn unnotified(state_dir: &Path) -> Vec<Recorded> {
    load(state_dir).map(|(s, _)| s.flags.into_iter().filter(|f| !f.notified).collect()).unwrap_or_default()
}

/// Marks `sent` as notified.
pub(crate) fn mark_notified(state_dir: &Path, sent: &[Recorded]) -> std::io::Result<()> {
    let (mut stored, _) = load(state_dir)?;
    for flag in stored.flags.iter_mut().filter(|f| sent.iter().any(|s| s.same_as(f))) {
        flag.notified = true;
    }
    store(state_dir, &mut stored)
}

/// Keeps the run's digest line.
pub(crate) fn remember_digest(state_dir: &Path, digest: &str) -> std::io::Result<()> {
    let (mut stored, _) = load(state_dir)?;
    stored.last_digest = Some(digest.to_owned());
    store(state_dir, &mut stored)
}

/// Adds `flags` to the record in `state_dir`; returns those seen for the first time, and a note if the record was
/// damaged.
pub(crate) fn record(
    state_dir: &Path,
    flags: &[Flag],
    now: DateTime<Utc>,
) -> std::io::Result<(Vec<Recorded>, Option<String>)> {
    let (mut stored, note) = load(state_dir)?;
    let mut new = Vec::new();
    for flag in flags {
        if let Some(seen) = stored.flags.iter_mut().find(|r| r.same(flag)) {
            seen.ratio = flag.ratio;
            seen.detail.clone_from(&flag.detail);
            continue;
        }
        let recorded = Recorded {
            kind: flag.kind.to_owned(),
            date: flag.date,
            model: flag.model.clone(),
            session: flag.session.clone(),
            ratio: flag.ratio,
            detail: flag.detail.clone(),
            first_seen: now,
            notified: false,
        };
        stored.flags.push(recorded.clone());
        new.push(recorded);
    }
    let oldest = now.date_naive().checked_sub_days(Days::new(KEEP_DAYS)).unwrap_or(NaiveDate::MIN);
    stored.flags.retain(|r| r.date.is_none_or(|d| d >= oldest));
    stored.last_run = Some(now);
    store(state_dir, &mut stored)?;
    Ok((new, note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn a_flag_is_new_once() {
        let dir = TestDir::new("reconcile-flags");
        let flag = Flag {
            kind: "ratio",
            date: NaiveDate::from_ymd_opt(2026, 11, 3),
            model: Some("claude-opus-4-5".to_owned()),
            session: None,
            ratio: Some(1.2),
            detail: "x".to_owned(),
        };
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        assert_eq!(record(dir.path(), std::slice::from_ref(&flag), now).unwrap().0.len(), 1);
        assert_eq!(record(dir.path(), std::slice::from_ref(&flag), now).unwrap().0.len(), 0);
        remember_digest(dir.path(), "d2").unwrap();
        assert_eq!(last_digest(dir.path()).as_deref(), Some("d2"));
        let due = unnotified(dir.path());
        assert_eq!(due.len(), 1);
        mark_notified(dir.path(), &due).unwrap();
        assert!(unnotified(dir.path()).is_empty());
        std::fs::write(dir.path().join(FILE_NAME), b"[").unwrap();
        let (new, note) = record(dir.path(), &[], now).unwrap();
        assert!(new.is_empty() && note.unwrap().contains("started afresh"));
    }
}
