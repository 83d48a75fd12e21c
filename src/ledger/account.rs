//! Accounting: new transcript lines in, spend out. Reads each changed file from its cursor, folds the lines of
//! one response together (the costliest reading counts), asks the key index whether any file already counted it
//! and as what, and adds what is new to its session and its day.
//!
//! Every response is judged against the key index, wherever it was read: a copy counted before its original, a
//! file cut short and grown back, a later line of a response counted in an earlier call. A response seen again is
//! re-priced if the new reading is costlier (its spend only goes up), finished if the new line is its final
//! record, and moved to the session that made it if it was counted from a copy and this is the line written in
//! place. Within one batch, responses written in their own file are counted before copies, so a copy read first
//! never takes a response from the session that made it.

use super::keys::{Candidate, Found, KeyIndex, KeysError, Record, Seen};
use super::overlay;
use super::state::{ApiErrorSeen, FileCursor, Ledger, RECENT_API_ERRORS, Share, add_minute, sub_minute};
use crate::pricing::PriceTable;
use crate::transcript::Response;
use crate::transcript::discover::Found as Source;
use crate::transcript::fold::{self, Folded};
use crate::transcript::line::{ToolUses, hash};
use crate::transcript::tail::{self, Stat};
use crate::zone::Zone;
use chrono::{DateTime, Utc};

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
    malformed: u64,
    stopped: bool,
    responses: Vec<Response>,
    api_errors: Vec<crate::transcript::fold::ApiErrorLine>,
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

/// Reads what is new in `source` since its cursor, within `budget`, pricing each line with `prices`; `None` if
/// nothing changed (or nothing could be read: the reason is in `notes`).
pub(crate) fn read_source(
    ledger: &Ledger,
    source: &Source,
    prices: &PriceTable,
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
    let folded = match fold::read(&mut file, from, last_uuid, ToolUses::Collect, prices, budget.limit(&stat)) {
        Ok(folded) => folded,
        Err(err) => {
            notes.push(format!("could not read `{}`: {err}", source.path.display()));
            return None;
        }
    };
    let Folded { responses, last_uuid, malformed, api_errors, tail } = folded;
    if tail.oversized > 0 {
        notes.push(format!("skipped {} line(s) over 64 MiB in `{}`", tail.oversized, source.path.display()));
    }
    for note in responses.iter().filter_map(|r| r.disagreement.as_deref()) {
        notes.push(format!("`{}`: {note}", source.path.display()));
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
        malformed,
        stopped: tail.stopped,
        responses,
        api_errors,
    })
}

/// The session a file's responses belong to: the one its place in the tree names, else the one an earlier read
/// found (`previous`), else the first response's `sessionId` (legacy `agent-*.jsonl` files, transcripts filed
/// elsewhere), else `unknown`.
pub(crate) fn session_of(source: &Source, previous: Option<&str>, responses: &[Response]) -> String {
    source
        .session
        .clone()
        .or_else(|| previous.filter(|s| !s.is_empty()).map(str::to_owned))
        .or_else(|| responses.iter().find_map(|r| r.session_id.clone()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Adds the new responses of `reads` to the ledger; `zone` decides a response's day. Lines whose ids another
/// reading already counted leave a note when they disagree with it.
pub(crate) fn apply(
    ledger: &mut Ledger,
    keys: &mut KeyIndex,
    reads: Vec<FileRead>,
    zone: Zone,
    now: DateTime<Utc>,
) -> Result<ReadStats, KeysError> {
    let mut stats = ReadStats { files: reads.len() as u64, ..ReadStats::default() };
    // Responses made in their own file first, copies after; files in path order, as the reports judge them.
    let mut by_path: Vec<usize> = (0..reads.len()).collect();
    by_path.sort_by(|&a, &b| reads[a].path.cmp(&reads[b].path));
    let mut rank = vec![0; reads.len()];
    for (position, &f) in by_path.iter().enumerate() {
        rank[f] = position;
    }
    let mut order: Vec<(usize, usize)> =
        reads.iter().enumerate().flat_map(|(f, read)| (0..read.responses.len()).map(move |r| (f, r))).collect();
    order.sort_by_key(|&(f, r)| counting_order(reads[f].responses[r].detached, rank[f], r));
    for (f, r) in order {
        let read = &reads[f];
        let response = &read.responses[r];
        stats.responses += 1;
        let me = Candidate {
            request: response.key.request,
            sidechain: response.sidechain,
            at_ms: response.timestamp().timestamp_millis(),
        };
        match keys.lookup(&ledger.keys, response.key.message, me)? {
            Seen::Replay => {}
            Seen::New => {
                let record = claim(ledger, read, response, record_of(read, response, zone), now);
                add(ledger, &record, Some(read), response);
                let log = KeyIndex::log_of(me.at_ms);
                keys.insert(&ledger.keys, log, response.key.message, record);
                stats.counted += 1;
            }
            Seen::Same(found) => {
                if let Some(record) = supersede(ledger, &found, read, response, zone) {
                    keys.insert(&ledger.keys, found.log, response.key.message, record);
                }
            }
        }
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
    for read in reads.iter().filter(|r| !r.api_errors.is_empty()) {
        let session = ledger.sessions.entry(read.session.clone()).or_default();
        for error in &read.api_errors {
            let seen = ApiErrorSeen { at_ms: error.at_ms, kind: error.kind.clone() };
            if !session.api_errors.contains(&seen) {
                session.api_errors.push(seen);
            }
        }
        session.api_errors.sort_by_key(|e| e.at_ms);
        let excess = session.api_errors.len().saturating_sub(RECENT_API_ERRORS);
        session.api_errors.drain(..excess);
    }
    for read in reads {
        let cursor = ledger.files.entry(read.path.clone()).or_default();
        stats.bytes += read.offset.saturating_sub(if read.restarted { 0 } else { cursor.offset });
        *cursor = FileCursor {
            session: read.session,
            dev: read.stat.id.dev,
            ino: read.stat.id.ino,
            offset: read.offset,
            last_uuid: read.last_uuid,
            malformed_lines: if read.restarted { read.malformed } else { cursor.malformed_lines + read.malformed },
            touched: now.timestamp(),
        };
    }
    Ok(stats)
}

/// A response counted for the first time in a session ccbreaker's mod gates: it takes the place of the step the mod
/// reported for it, if the report came first (see [`super::overlay`]); the report's usage, the API's final one,
/// stands when it is costlier than the line read (a streaming snapshot).
fn claim(ledger: &mut Ledger, read: &FileRead, response: &Response, mut record: Record, now: DateTime<Utc>) -> Record {
    let Some(session) = ledger.sessions.get_mut(&read.session).filter(|s| s.mod_seen.is_some()) else { return record };
    let seen = overlay::Seen {
        agent: overlay::agent_of_file(&read.path),
        key: overlay::key(&response.reading.model, &response.reading.usage),
        tools: &response.tool_uses,
        written: response.timestamp(),
    };
    if let Some(step) = overlay::counted(session, &seen, now)
        && step.cost > record.cost
    {
        record.cost = step.cost;
        record.usage = step.usage;
        record.incomplete = false;
        record.rate = 0;
    }
    record
}

/// A small tag of a model name, to tell a later line naming another model.
fn model_tag(model: &str) -> u32 {
    hash(model.as_bytes()) as u32
}

/// What counting `response`, read in `read`, records.
fn record_of(read: &FileRead, response: &Response, zone: Zone) -> Record {
    let incomplete = response.incomplete();
    Record {
        request: response.key.request,
        sidechain: response.sidechain,
        copy: response.detached,
        incomplete,
        model: model_tag(&response.reading.model),
        day: zone.date_of(response.timestamp()),
        session: hash(read.session.as_bytes()),
        file: hash(read.path.as_bytes()),
        at_ms: response.timestamp().timestamp_millis(),
        cost: response.priced.cost,
        rate: if incomplete { response.priced.output_rate } else { 0 },
        usage: response.reading.total_usage(),
    }
}

fn share(record: &Record) -> Share {
    Share { cost: record.cost, usage: record.usage, incomplete: record.incomplete, rate: record.rate }
}

/// Adds a counted response to its session (`read` names it, with its project; else it is found by its hash) and
/// its day. `response` is the line just read, for the session's latest model and prompt.
fn add(ledger: &mut Ledger, record: &Record, read: Option<&FileRead>, response: &Response) {
    let share = share(record);
    ledger.days.entry(record.day).or_default().add(&share);
    *ledger.hours.entry(hour_of(record)).or_default() += record.cost;
    add_minute(&mut ledger.minutes, minute_of(record), record.cost);
    let model = ledger.models.entry(record.model).or_default();
    if model.name.is_empty() && model_tag(&response.reading.model) == record.model {
        model.name = crate::pricing::normalize(&response.reading.model);
    }
    *model.days.entry(record.day).or_default() += record.cost;
    let name = match read {
        Some(read) => read.session.clone(),
        None => match session_named(ledger, record.session) {
            Some(name) => name,
            None => return,
        },
    };
    let session = ledger.sessions.entry(name).or_default();
    if session.project.is_empty()
        && let Some(read) = read
    {
        session.project = read.project.clone();
    }
    session.total.add(&share);
    session.days.entry(record.day).or_default().add(&share);
    add_minute(&mut session.minutes, minute_of(record), record.cost);
    session.max_response = session.max_response.max(record.cost);
    let at = response.timestamp();
    if session.last_activity.is_none_or(|t| at >= t) {
        session.last_model.clone_from(&response.reading.model);
        session.last_prompt_tokens = response.reading.usage.prompt_tokens();
        session.last_response = record.cost;
        if let Some(branch) = &response.git_branch {
            session.branch.clone_from(branch);
        }
    }
    if session.dir.is_empty()
        && let Some(cwd) = &response.cwd
    {
        session.dir.clone_from(cwd);
    }
    session.first_activity = Some(session.first_activity.map_or(at, |t| t.min(at)));
    session.last_activity = Some(session.last_activity.map_or(at, |t| t.max(at)));
    if !record.incomplete {
        session.remember_output(record.usage.output_tokens);
    }
    if !response.priced.known_model {
        session.unknown_models.insert(response.reading.model.clone());
        for part in &response.reading.advisor {
            session.unknown_models.insert(part.model.clone());
        }
    }
}

/// The UTC hour (since the Unix epoch) a counted response falls in.
fn hour_of(record: &Record) -> i64 {
    record.at_ms.div_euclid(3_600_000)
}

/// The minute (since the Unix epoch) a counted response falls in.
fn minute_of(record: &Record) -> i64 {
    record.at_ms.div_euclid(60_000)
}

/// Takes a counted response back out of its session and day.
fn remove(ledger: &mut Ledger, record: &Record) {
    let share = share(record);
    if let Some(day) = ledger.days.get_mut(&record.day) {
        day.sub(&share);
    }
    if let Some(hour) = ledger.hours.get_mut(&hour_of(record)) {
        *hour = hour.saturating_sub(record.cost);
    }
    sub_minute(&mut ledger.minutes, minute_of(record), record.cost);
    if let Some(day) = ledger.models.get_mut(&record.model).and_then(|m| m.days.get_mut(&record.day)) {
        *day = day.saturating_sub(record.cost);
    }
    if let Some(name) = session_named(ledger, record.session)
        && let Some(session) = ledger.sessions.get_mut(&name)
    {
        session.total.sub(&share);
        if let Some(day) = session.days.get_mut(&record.day) {
            day.sub(&share);
        }
        sub_minute(&mut session.minutes, minute_of(record), record.cost);
    }
}

/// The file whose path hashes to `hash`, if the ledger still follows it.
fn file_named(ledger: &Ledger, file: u64) -> Option<String> {
    ledger.files.keys().find(|path| hash(path.as_bytes()) == file).cloned()
}

/// The session whose name hashes to `hash`, if the ledger still has it.
fn session_named(ledger: &Ledger, session: u64) -> Option<String> {
    ledger.sessions.keys().find(|name| hash(name.as_bytes()) == session).cloned()
}

/// Another reading of a response already counted as `found`: it replaces the counted one if it is costlier, it
/// finishes it if it is the final record of a response counted without one, and it moves it to this file's session
/// if it was counted from a copy and this line is the one written in place. Returns the record that now stands, if
/// anything changed.
fn supersede(ledger: &mut Ledger, found: &Found, read: &FileRead, response: &Response, zone: Zone) -> Option<Record> {
    let old = found.record;
    let costlier =
        response.rank().replaces(crate::transcript::reading::Rank { cost: old.cost, tokens: old.usage.total_tokens() });
    let finishes = old.incomplete && !response.incomplete();
    let session = hash(read.session.as_bytes());
    // A line written in place claims a response counted from a copy; between two lines written in place (a fork
    // that copied a whole conversation), the file whose path sorts first keeps it, as in the reports.
    let claims = old.session != session
        && !response.detached
        && (old.copy || file_named(ledger, old.file).is_some_and(|path| read.path < path));
    if old.model != model_tag(&response.reading.model) || prompt_differs(&old.usage, &response.reading.total_usage()) {
        let id = format!("of message hash {:016x}", response.key.message);
        let note = fold::disagreement(&id, "as counted", &response.reading.model);
        ledger.note(format!("`{}`: {note}", read.path));
    }
    if !costlier && !finishes && !claims {
        return None;
    }
    let mut new = if costlier { record_of(read, response, zone) } else { old };
    new.request = old.request;
    new.incomplete = old.incomplete && response.incomplete();
    if !new.incomplete {
        new.rate = 0;
    }
    if claims {
        new.session = session;
        new.file = hash(read.path.as_bytes());
        new.copy = false;
    } else {
        new.session = old.session;
        new.file = old.file;
        new.copy = old.copy;
    }
    remove(ledger, &old);
    add(ledger, &new, if new.session == session { Some(read) } else { None }, response);
    Some(new)
}

fn prompt_differs(a: &crate::usage::Usage, b: &crate::usage::Usage) -> bool {
    (a.input_tokens, a.cache_creation_5m_tokens, a.cache_creation_1h_tokens, a.cache_read_tokens)
        != (b.input_tokens, b.cache_creation_5m_tokens, b.cache_creation_1h_tokens, b.cache_read_tokens)
}

/// The order in which responses are judged new or seen, shared with the reports: responses written in their own
/// file before copies (`detached`: resumed sessions, sidechain replays), so that a copy never takes a response
/// from the session that made it; then by file, then by place in the file.
pub(crate) fn counting_order(detached: bool, file: usize, place: usize) -> (bool, usize, usize) {
    (detached, file, place)
}
