//! Accounting: new transcript lines in, spend out. Reads each changed file from its cursor, folds the lines of
//! one response together (keeping the largest usage), asks the key index whether another file already counted
//! it, and adds what is new to its session and its day.
//!
//! Within one batch, responses written in their own file are counted before copies (lines whose parent is not
//! the line before them: resumed sessions, sidechain replays), so a copy read first never takes a response from
//! the session that made it. Across batches the first file to be read wins; the day total is exact either way.

use super::keys::{KeyIndex, KeysError, Seen, judge};
use super::state::{COPIES, Counted, FileCursor, LastResponse, Ledger};
use crate::transcript::Response;
use crate::transcript::discover::Found;
use crate::transcript::fold::{self, Folded};
use crate::transcript::line::ToolUses;
use crate::transcript::tail::{self, Stat};
use crate::usage::Pico;
use crate::zone::Zone;
use chrono::{DateTime, Utc};

/// What pricing says of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Priced {
    pub cost: Pico,
    pub known_model: bool,
}

/// The new lines of one file.
#[derive(Debug)]
pub(crate) struct FileRead {
    path: String,
    session: String,
    project: String,
    stat: Stat,
    offset: u64,
    last_uuid: Option<String>,
    restarted: bool,
    /// More lines of a file of the hooked session, followed from a cursor: what is appended there was written
    /// there, and its hook reads it first (see `apply`).
    appended: bool,
    malformed: u64,
    stopped: bool,
    responses: Vec<Response>,
}

impl FileRead {
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Where this read ended: the file's next cursor.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    pub(crate) fn restarted(&self) -> bool {
        self.restarted
    }

    /// The read stopped before the end of the file (its budget ran out).
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }
}

/// Counts for `status` and the timings line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReadStats {
    pub files: u64,
    pub bytes: u64,
    pub responses: u64,
    pub counted: u64,
}

/// Reads what is new in `source` since its cursor, within `budget`; `None` if nothing changed (or nothing could
/// be read: the reason is in `notes`).
pub(crate) fn read_source(
    ledger: &Ledger,
    source: &Found,
    budget: &tail::Budget,
    notes: &mut Vec<String>,
) -> Option<FileRead> {
    let key = source.path.to_string_lossy();
    let cursor = ledger.files.get(key.as_ref());
    let same_file = cursor.is_some_and(|c| c.dev == source.stat.id.dev && c.ino == source.stat.id.ino);
    let from = match cursor {
        Some(c) if same_file && source.stat.size == c.offset => return None,
        Some(c) if same_file && source.stat.size > c.offset => c.offset,
        _ => 0,
    };
    let restarted = from == 0 && cursor.is_some_and(|c| c.offset > 0);
    let (mut file, stat) = match tail::open(&source.path) {
        Ok(opened) => opened,
        Err(tail::OpenError::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(tail::OpenError::Io(err)) => {
            notes.push(format!("could not read `{}`: {err}", source.path.display()));
            return None;
        }
        Err(tail::OpenError::Refused(why)) => {
            notes.push(format!("skipped `{}`: {why}", source.path.display()));
            return None;
        }
    };
    let last_uuid = cursor.and_then(|c| c.last_uuid.clone());
    let folded = match fold::read(&mut file, from, last_uuid, ToolUses::Collect, budget.limit(&stat)) {
        Ok(folded) => folded,
        Err(err) => {
            notes.push(format!("could not read `{}`: {err}", source.path.display()));
            return None;
        }
    };
    let Folded { responses, last_uuid, malformed, tail } = folded;
    if tail.oversized > 0 {
        notes.push(format!("skipped {} line(s) over 64 MiB in `{}`", tail.oversized, source.path.display()));
    }
    let session = session_of(source, cursor.map(|c| c.session.as_str()), &responses);
    Some(FileRead {
        path: key.into_owned(),
        session,
        project: source.project.clone(),
        stat,
        offset: tail.offset,
        last_uuid,
        restarted,
        appended: source.own && from > 0,
        malformed,
        stopped: tail.stopped,
        responses,
    })
}

/// The session a file's responses belong to: the one its place in the tree names, else the one an earlier read
/// found (`previous`), else the first response's `sessionId` (legacy `agent-*.jsonl` files), else `unknown`.
pub(crate) fn session_of(source: &Found, previous: Option<&str>, responses: &[Response]) -> String {
    source
        .session
        .clone()
        .or_else(|| previous.filter(|s| !s.is_empty()).map(str::to_owned))
        .or_else(|| responses.iter().find_map(|r| r.session_id.clone()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Adds the new responses of `reads` to the ledger. `price` prices one response; `zone` decides its day.
pub(crate) fn apply(
    ledger: &mut Ledger,
    keys: &mut KeyIndex,
    mut reads: Vec<FileRead>,
    price: &dyn Fn(&Response) -> Priced,
    zone: Zone,
    now: DateTime<Utc>,
) -> Result<ReadStats, KeysError> {
    let mut stats = ReadStats::default();
    // Continuations of a response whose first lines an earlier call counted.
    for read in &mut reads {
        stats.files += 1;
        let previous = ledger.files.get(&read.path).filter(|_| !read.restarted).and_then(|c| c.last.clone());
        if let (Some(previous), Some(first)) = (previous, read.responses.first())
            && previous.message == first.key.message
            && previous.request == first.key.request
        {
            let first = read.responses.remove(0);
            if let Some(session) = ledger.sessions.get_mut(&read.session).filter(|s| s.hooked) {
                session.remember_tool_uses(&first.tool_uses);
            }
            let last = continue_response(ledger, read, previous, &first, price);
            ledger.files.entry(read.path.clone()).or_default().last = Some(last);
        }
    }
    // Responses made in their own file first, copies after.
    let mut order: Vec<(usize, usize)> =
        reads.iter().enumerate().flat_map(|(f, read)| (0..read.responses.len()).map(move |r| (f, r))).collect();
    order.sort_by_key(|&(f, r)| counting_order(reads[f].responses[r].detached, f, r));
    let mut counted: Vec<Vec<Option<Counted>>> = reads.iter().map(|r| vec![None; r.responses.len()]).collect();
    for (f, r) in order {
        let read = &reads[f];
        let response = &read.responses[r];
        stats.responses += 1;
        let day = response.timestamp.date_naive();
        let committed = ledger.keys.get(&day).copied().unwrap_or(0);
        if read.appended && !response.detached {
            // Written in the hooked session's own file after lines already counted, and read by its own hook within
            // moments: only a copy counted before it (a session resumed elsewhere in the meantime) can have counted
            // it first, and those are kept in the ledger. So the hot path never reads the day's key log and does
            // not grow with the day. Files found by a walk, and copies, are always looked up.
            let earlier = ledger.copies.iter().filter(|c| c.0 == response.key.message).map(|c| (c.1, c.2));
            if judge(earlier, response.key.request, response.sidechain) != Seen::New {
                continue;
            }
            keys.insert_new(day, committed, response.key, response.sidechain)?;
        } else if keys.check_and_insert(day, committed, response.key, response.sidechain)? != Seen::New {
            continue;
        }
        if response.detached {
            ledger.copies.push((response.key.message, response.key.request, response.sidechain));
            let excess = ledger.copies.len().saturating_sub(COPIES);
            ledger.copies.drain(..excess);
        }
        stats.counted += 1;
        counted[f][r] = Some(count(ledger, read, response, price, zone));
    }
    for read in &reads {
        let ids: Vec<String> = read.responses.iter().flat_map(|r| r.tool_uses.iter().cloned()).collect();
        if !ids.is_empty() {
            // Only a session that runs the hook waits for its tool calls; others need not carry their ids.
            if let Some(session) = ledger.sessions.get_mut(&read.session).filter(|s| s.hooked) {
                session.remember_tool_uses(&ids);
            }
        }
    }
    for (read, counted) in reads.into_iter().zip(counted) {
        let cursor = ledger.files.entry(read.path.clone()).or_default();
        if read.restarted {
            cursor.last = None;
        }
        if let (Some(response), Some(counted)) = (read.responses.last(), counted.last()) {
            cursor.last = Some(LastResponse {
                message: response.key.message,
                request: response.key.request,
                counted: counted.clone(),
            });
        }
        stats.bytes += read.offset.saturating_sub(if read.restarted { 0 } else { cursor.offset });
        *cursor = FileCursor {
            session: read.session,
            dev: read.stat.id.dev,
            ino: read.stat.id.ino,
            offset: read.offset,
            last_uuid: read.last_uuid,
            last: cursor.last.take(),
            malformed_lines: if read.restarted { read.malformed } else { cursor.malformed_lines + read.malformed },
            touched: now.timestamp(),
        };
    }
    Ok(stats)
}

fn count(
    ledger: &mut Ledger,
    read: &FileRead,
    response: &Response,
    price: &dyn Fn(&Response) -> Priced,
    zone: Zone,
) -> Counted {
    let priced = price(response);
    let day = zone.date_of(response.timestamp);
    let session = ledger.sessions.entry(read.session.clone()).or_default();
    if session.project.is_empty() {
        session.project = read.project.clone();
    }
    session.total.add(priced.cost, &response.usage);
    session.days.entry(day).or_default().add(priced.cost, &response.usage);
    session.max_response = session.max_response.max(priced.cost);
    if session.last_activity.is_none_or(|t| response.timestamp >= t) {
        session.last_model.clone_from(&response.model);
        session.last_prompt_tokens = response.usage.prompt_tokens();
    }
    session.first_activity = Some(session.first_activity.map_or(response.timestamp, |t| t.min(response.timestamp)));
    session.last_activity = Some(session.last_activity.map_or(response.timestamp, |t| t.max(response.timestamp)));
    if !priced.known_model {
        session.unknown_models.insert(response.model.clone());
    }
    ledger.days.entry(day).or_default().add(priced.cost, &response.usage);
    Counted { usage: response.usage, cost: priced.cost, day }
}

/// More lines of a response counted before: if they carry more usage, the response is re-priced.
fn continue_response(
    ledger: &mut Ledger,
    read: &FileRead,
    previous: LastResponse,
    response: &Response,
    price: &dyn Fn(&Response) -> Priced,
) -> LastResponse {
    let Some(old) = previous.counted.clone() else { return previous };
    if response.usage.total_tokens() <= old.usage.total_tokens() {
        return previous;
    }
    let priced = price(response);
    let (from, to) = ((old.cost, &old.usage), (priced.cost, &response.usage));
    let session = ledger.sessions.entry(read.session.clone()).or_default();
    session.total.replace(from, to);
    session.days.entry(old.day).or_default().replace(from, to);
    session.max_response = session.max_response.max(priced.cost);
    ledger.days.entry(old.day).or_default().replace(from, to);
    LastResponse { counted: Some(Counted { usage: response.usage, cost: priced.cost, day: old.day }), ..previous }
}

/// The order in which responses are judged new or seen, shared with the reports: responses written in their own
/// file before copies (`detached`: resumed sessions, sidechain replays), so that a copy never takes a response
/// from the session that made it; then by file, then by place in the file.
pub(crate) fn counting_order(detached: bool, file: usize, place: usize) -> (bool, usize, usize) {
    (detached, file, place)
}
