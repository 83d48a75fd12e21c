//! The record `ccbreaker exec` reads to tell a halted run from a finished one, exactly: which Claude Code sessions its
//! command started, and which of them ccbreaker stopped, and why.
//!
//! `exec` makes a run id (32 hex digits), creates `runs/<id>/` in the state directory and starts its command with
//! `CCBREAKER_RUN_ID=<id>` in the environment. Every process the command starts inherits it, so every hook call of a
//! session it started sees it: the hook creates `runs/<id>/s-<session>` (once: one `open` on every later call) and,
//! when it stops the session (a budget, a breaker, a tampered transcript, a refusal, `on_error = "block"`), appends
//! one JSON line to `runs/<id>/halts.jsonl`: `{"session", "at", "by", "event", "reason"}`. Any other part of
//! ccbreaker that stops a session (the mod's gate, `by: "gate"`) appends the same line through [`halted`]. `exec`
//! reads both when its command exits, and removes the directory.
//!
//! Nothing is recorded for an id whose directory `exec` did not create, and an id that is not 32 hex digits is
//! ignored (no path is built from what the environment says). In locked mode the id comes from the agent's
//! environment too, but the directory is in the state, which only the hook's group can write: an agent can at most
//! make another run see more halts (by passing that run's id on), never make its own run see fewer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const DIR: &str = "runs";
const HALTS: &str = "halts.jsonl";
/// Run directories older than this are removed when `exec` starts another run (an `exec` that was killed).
const KEEP_DAYS: u64 = 7;

/// One halt, as a line of `halts.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Halt {
    pub session: String,
    pub at: DateTime<Utc>,
    /// What stopped it: `hook`, or `gate` (the mod).
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    pub reason: String,
}

/// What a run's record holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Run {
    /// The sessions whose hooks saw the run id, in no particular order.
    pub sessions: Vec<String>,
    pub halts: Vec<Halt>,
}

/// Whether `id` is a run id (32 lowercase hex digits): anything else is never used in a path.
pub(crate) fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn dir(state_dir: &Path, id: &str) -> PathBuf {
    state_dir.join(DIR).join(id)
}

/// Starts a run: a fresh id and its directory. Removes the directories of runs older than a week.
pub(crate) fn start(state_dir: &Path) -> io::Result<String> {
    let root = state_dir.join(DIR);
    crate::files::create_private_dir(&root)?;
    prune(&root);
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, crate::files::PRIVATE_DIR_MODE);
    builder.create(root.join(&id))?;
    Ok(id)
}

/// A session's hook saw run `id`: its marker, made once (a single failed `open` afterwards). Best effort: the hook's
/// answer never depends on it.
pub(crate) fn seen(state_dir: &Path, id: &str, session: &str) {
    if !valid_id(id) {
        return;
    }
    let path = dir(state_dir, id).join(marker(session));
    if let Ok(mut file) = crate::files::private_options().write(true).create_new(true).open(path) {
        let _ = file.write_all(session.as_bytes());
    }
}

/// Records that `halt.session` was stopped, for run `id` (if `exec` started it). Also marks the session seen.
pub(crate) fn halted(state_dir: &Path, id: &str, halt: &Halt) {
    if !valid_id(id) || !dir(state_dir, id).is_dir() {
        return;
    }
    seen(state_dir, id, &halt.session);
    let mut line = serde_json::to_vec(halt).expect("a halt serialises");
    line.push(b'\n');
    let open = crate::files::private_options().create(true).append(true).open(dir(state_dir, id).join(HALTS));
    if let Ok(mut file) = open {
        // One write of one line: concurrent hooks do not interleave.
        let _ = file.write_all(&line);
    }
}

/// What run `id` recorded.
pub(crate) fn read(state_dir: &Path, id: &str) -> io::Result<Run> {
    let dir = dir(state_dir, id);
    let mut run = Run::default();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("s-")
            && let Ok(session) = std::fs::read_to_string(entry.path())
            && !session.is_empty()
        {
            run.sessions.push(session);
        }
    }
    run.sessions.sort();
    match std::fs::read_to_string(dir.join(HALTS)) {
        Ok(text) => run.halts = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    Ok(run)
}

/// Removes run `id`'s record.
pub(crate) fn finish(state_dir: &Path, id: &str) {
    if valid_id(id) {
        let _ = std::fs::remove_dir_all(dir(state_dir, id));
    }
}

/// A session's marker: `s-` and the id when it is plain, else its hash (the file holds the id either way).
fn marker(session: &str) -> String {
    let plain = !session.is_empty()
        && session.len() <= 128
        && session.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain { format!("s-{session}") } else { format!("s-{:016x}", crate::transcript::line::hash(session.as_bytes())) }
}

fn prune(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let horizon = std::time::SystemTime::now() - std::time::Duration::from_secs(KEEP_DAYS * 86_400);
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < horizon);
        if old && valid_id(&entry.file_name().to_string_lossy()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn a_run_records_its_sessions_and_halts() {
        let tmp = TestDir::new("runs");
        let state = tmp.path();
        let id = start(state).unwrap();
        assert!(valid_id(&id));
        seen(state, &id, "s1");
        seen(state, &id, "s1");
        seen(state, &id, "odd/../id");
        let at = DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").unwrap().with_timezone(&Utc);
        let halt = Halt { session: "s2".into(), at, by: "gate".into(), event: None, reason: "over".into() };
        halted(state, &id, &halt);
        let run = read(state, &id).unwrap();
        assert_eq!(run.sessions, ["odd/../id", "s1", "s2"]);
        assert_eq!(run.halts, [halt]);
        finish(state, &id);
        assert!(read(state, &id).is_err());
    }

    #[test]
    fn nothing_is_recorded_for_a_run_exec_did_not_start_or_an_id_that_is_not_one() {
        let tmp = TestDir::new("runs-foreign");
        let state = tmp.path();
        let at = DateTime::UNIX_EPOCH;
        let halt = Halt { session: "s".into(), at, by: "hook".into(), event: None, reason: "r".into() };
        halted(state, "0123456789abcdef0123456789abcdef", &halt);
        halted(state, "../../etc", &halt);
        seen(state, "../x", "s");
        assert!(!state.join(DIR).exists());
        assert!(!valid_id("0123456789ABCDEF0123456789abcdef"));
    }
}
