//! Every flag `reconcile` has raised, kept in the state directory (`reconcile-flags.json`) with when it was first
//! seen and whether it has been sent: a flag that appears for the first time is "new" (the digest line says so),
//! and an alert channel picks up the ones with `notified: false` and marks them sent.

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
}

/// Adds `flags` to the record in `state_dir`; returns those seen for the first time, and a note if the record was
/// damaged (it is then started afresh, so its flags count as new again: an alert repeated, never one lost).
pub(crate) fn record(
    state_dir: &Path,
    flags: &[Flag],
    now: DateTime<Utc>,
) -> std::io::Result<(Vec<Recorded>, Option<String>)> {
    let path = state_dir.join(FILE_NAME);
    let (mut stored, note) = match crate::files::read_optional(&path)? {
        None => (Stored::default(), None),
        Some(bytes) => match serde_json::from_slice::<Stored>(&bytes) {
            Ok(stored) if stored.version == VERSION => (stored, None),
            Ok(_) => (Stored::default(), None),
            Err(err) => (
                Stored::default(),
                Some(format!("`{}` could not be read ({err}); it is started afresh", path.display())),
            ),
        },
    };
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
    stored.version = VERSION;
    stored.last_run = Some(now);
    let bytes = serde_json::to_vec_pretty(&stored).expect("flags serialise");
    crate::files::create_private_dir(state_dir)?;
    crate::files::write_atomic(&path, &bytes, crate::files::Durability::Synced, None)?;
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
        assert_eq!(record(dir.path(), &[flag], now).unwrap().0.len(), 0);
        std::fs::write(dir.path().join(FILE_NAME), b"[").unwrap();
        let (new, note) = record(dir.path(), &[], now).unwrap();
        assert!(new.is_empty() && note.unwrap().contains("started afresh"));
    }
}
