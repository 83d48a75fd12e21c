//! The audit trail: every block the hook answered and every override a person granted, appended as one JSON line
//! each to `audit.log` in the state directory, and shown by `ccbreaker log`. It is never read by the decision, so
//! it can be kept, rotated or deleted freely.

use crate::files;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What an entry records; `ccbreaker log` and its JSON use these names (entries written before them, `breach` and
/// `tamper`, read as `block` and `refuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// A budget was reached and the event was blocked.
    #[serde(alias = "breach")]
    Block,
    /// A tool call that would have lifted ccbreaker's own limits was refused, or a session refused for a tampered
    /// transcript or a state made unusable.
    #[serde(alias = "tamper")]
    Refuse,
    /// ccbreaker could not check the budgets and `on_error = "block"` blocked the event.
    Error,
    /// A person granted a session more money with `ccbreaker allow`.
    Allow,
    /// A person took a session's grants back with `ccbreaker allow --revoke`.
    Revoke,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Block => "block",
            Kind::Refuse => "refuse",
            Kind::Error => "error",
            Kind::Allow => "allow",
            Kind::Revoke => "revoke",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub at: DateTime<Utc>,
    pub kind: Kind,
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub detail: String,
}

pub(crate) fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("audit.log")
}

/// Appends `entry` (one `write` of one line, so concurrent hooks do not interleave), creating the state directory
/// if needed. Failures are returned for the caller to ignore: the audit trail must never change a decision.
pub(crate) fn append(state_dir: &Path, entry: &Entry) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let open = || files::private_options().create(true).append(true).open(path(state_dir));
    let mut file = match open() {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            files::create_private_dir(state_dir)?;
            open()?
        }
        other => other?,
    };
    file.write_all(&line)
}

/// The entries of the trail, oldest first; lines that do not parse are skipped.
pub(crate) fn read(state_dir: &Path) -> std::io::Result<Vec<Entry>> {
    match std::fs::read_to_string(path(state_dir)) {
        Ok(text) => Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let tmp = crate::test_dir::TestDir::new("audit");
        let dir = tmp.path().join("state");
        let entry = Entry {
            at: DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").unwrap().with_timezone(&Utc),
            kind: Kind::Refuse,
            session: Some("s".into()),
            agent_id: None,
            event: Some("PreToolUse".into()),
            tool: Some("Bash".into()),
            detail: "ccbreaker allow".into(),
        };
        append(&dir, &entry).unwrap();
        std::fs::OpenOptions::new().append(true).open(path(&dir)).unwrap().write_all(b"torn {\n").unwrap();
        append(&dir, &Entry { kind: Kind::Allow, ..entry.clone() }).unwrap();
        let read = read(&dir).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0], entry);
        assert_eq!(read[1].kind, Kind::Allow);
        let old: Entry =
            serde_json::from_str(r#"{"at":"2026-11-24T12:00:00Z","kind":"breach","session":"s","detail":"d"}"#)
                .unwrap();
        assert_eq!(old.kind, Kind::Block);
        assert_eq!(serde_json::to_value(&old).unwrap()["kind"], "block");
    }
}
