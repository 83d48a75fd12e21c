//! What the transcripts do not show yet, as ccbreaker's mod tells it: the usage of model requests it saw finish,
//! and the requests it let through that are still in flight.
//!
//! **Each finished step counts once.** The client writes a response to the transcript a few milliseconds to a
//! second after it has streamed, so a gate that read only the transcript would miss the crossing response of a
//! sibling agent (measured: 3 runs in 11). The mod reports each step's usage as it finishes; it is counted as
//! *provisional* until the response it is reaches the ledger from the transcript, which then counts instead. The
//! two are paired by what both carry: the transcript file the response is written to (the agent's), the model and
//! the prompt's token counts (input, cache writes, cache reads: the API's own figures, the same in every line of a
//! response), the ids of its tool calls when it made any; and a response written before the gate let a step
//! through cannot be that step's. Pairing is one to one, whichever comes first: a report that finds its response
//! already counted claims it (see [`Counted`]) and adds nothing. Two responses of one agent that share the key cost
//! the same, so whichever of them pairs, the sum is right. A step never paired is dropped after
//! [`PROVISIONAL_TTL`] (a response the client never wrote; `status` notes it).
//!
//! **Reservations.** A step the gate lets through holds an estimate against every budget until its report comes,
//! its agent asks for its next step (an agent's requests follow one another), its agent stops, its client exits,
//! or [`RESERVATION_TTL`] passes. A step is refused when the spend plus the reservations of the *other* steps
//! reaches a budget; its own is taken once it is let through.

use super::state::{Counted, Ledger, Provisional, Reservation, SessionSpend};
use crate::usage::{Pico, Usage};
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// How long a reported step waits for its response in the transcripts: far beyond the lag measured (milliseconds
/// to a second), so a step dropped for it was never written.
pub(crate) const PROVISIONAL_TTL: Duration = Duration::minutes(10);
/// How long a reservation lives at most: longer than any one response streams (128,000 output tokens at 60 a
/// second take 36 minutes only in theory; requests end well before). A client that exits frees its own at once.
pub(crate) const RESERVATION_TTL: Duration = Duration::minutes(15);
/// Bounds on what a session keeps, so a ledger never grows with a session's length.
const MAX_COUNTED: usize = 32;
const MAX_PROVISIONAL: usize = 64;
const MAX_RESERVED: usize = 64;

/// The key a step and its response share: the model and the prompt's token counts.
pub(crate) fn key(model: &str, usage: &Usage) -> u64 {
    let mut bytes = model.as_bytes().to_vec();
    for n in
        [usage.input_tokens, usage.cache_creation_5m_tokens, usage.cache_creation_1h_tokens, usage.cache_read_tokens]
    {
        bytes.extend_from_slice(&n.to_le_bytes());
    }
    crate::transcript::line::hash(&bytes)
}

/// The agent whose transcript `path` is: the subagent's id for `.../subagents/agent-<id>.jsonl`, `""` for a
/// session's own file.
pub(crate) fn agent_of_file(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match (path.contains("subagents"), name.strip_prefix("agent-").and_then(|n| n.strip_suffix(".jsonl"))) {
        (true, Some(id)) => id,
        _ => "",
    }
}

fn shares_a_tool(a: &[String], b: &[String]) -> bool {
    a.iter().any(|id| b.contains(id))
}

/// The index of the best partner among `candidates` (same agent, and the same key or a shared tool call; `fields`
/// gives those and whether the time fits): one sharing a tool call first, then the oldest.
fn partner<'a, T: 'a>(
    candidates: impl Iterator<Item = (usize, &'a T)>,
    agent: &str,
    key: u64,
    tools: &[String],
    fields: impl Fn(&T) -> (&str, u64, &[String], bool),
) -> Option<usize> {
    let mut by_key = None;
    for (i, c) in candidates {
        let (c_agent, c_key, c_tools, in_time) = fields(c);
        if c_agent != agent || !in_time {
            continue;
        }
        if shares_a_tool(c_tools, tools) {
            return Some(i);
        }
        if c_key == key && by_key.is_none() {
            by_key = Some(i);
        }
    }
    by_key
}

/// What a report of the mod did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reported {
    /// Counted provisionally: the transcripts do not show its response yet.
    Provisional,
    /// Its response was counted already; it claimed it.
    AlreadyCounted,
    /// The step was reported before.
    Again,
}

/// A step the mod saw finish.
pub(crate) fn report(session: &mut SessionSpend, step: Provisional) -> Reported {
    if session.provisional.iter().any(|p| p.step == step.step) || session.counted.iter().any(|c| c.step == step.step) {
        return Reported::Again;
    }
    let open = session.counted.iter().enumerate().filter(|(_, c)| c.step.is_empty());
    let since = step.since;
    if let Some(i) =
        partner(open, &step.agent, step.key, &step.tools, |c| (&c.agent, c.key, &c.tools, c.written >= since))
    {
        session.counted[i].step = step.step;
        return Reported::AlreadyCounted;
    }
    session.last_response = step.cost;
    session.provisional.push(step);
    let excess = session.provisional.len().saturating_sub(MAX_PROVISIONAL);
    session.provisional.drain(..excess);
    Reported::Provisional
}

/// What the transcripts say of a response counted for the first time.
pub(crate) struct Seen<'a> {
    pub agent: &'a str,
    pub key: u64,
    pub tools: &'a [String],
    /// Its timestamp.
    pub written: DateTime<Utc>,
}

/// A response just counted from the transcript of `agent` in a mod-gated session, at `now`: the provisional step it
/// is, if one is waiting (taken out: the response counts now), else it is kept for a report still to come.
pub(crate) fn counted(session: &mut SessionSpend, seen: &Seen, now: DateTime<Utc>) -> Option<Provisional> {
    let Seen { agent, key, tools, written } = *seen;
    let found = partner(session.provisional.iter().enumerate(), agent, key, tools, |p| {
        (&p.agent, p.key, &p.tools, written >= p.since)
    })
    .map(|i| session.provisional.remove(i));
    let step = found.as_ref().map(|p| p.step.clone()).unwrap_or_default();
    session.counted.push(Counted { agent: agent.to_owned(), key, tools: tools.to_vec(), step, at: now, written });
    let excess = session.counted.len().saturating_sub(MAX_COUNTED);
    session.counted.drain(..excess);
    found
}

/// Drops what has outlived its time: provisional steps never paired (their number, for a note), responses no
/// report claimed, and reservations.
pub(crate) fn expire(session: &mut SessionSpend, now: DateTime<Utc>) -> usize {
    let before = session.provisional.len();
    session.provisional.retain(|p| now - p.at < PROVISIONAL_TTL);
    session.counted.retain(|c| now - c.at < PROVISIONAL_TTL);
    session.reserved.retain(|r| now - r.at < RESERVATION_TTL);
    before - session.provisional.len()
}

/// The provisional spend of a session at `now`: on its total (`None`) or on one day. What has outlived its time
/// counts no more, whoever prunes it (the gate does; a hook only reads).
pub(crate) fn provisional(session: &SessionSpend, day: Option<NaiveDate>, now: DateTime<Utc>) -> Pico {
    let mut total = Pico(0);
    for p in session.provisional.iter().filter(|p| day.is_none_or(|d| p.day == d) && now - p.at < PROVISIONAL_TTL) {
        total += p.cost;
    }
    total
}

/// Every session's provisional spend on `day`.
pub(crate) fn provisional_day(ledger: &Ledger, day: NaiveDate, now: DateTime<Utc>) -> Pico {
    let mut total = Pico(0);
    for session in ledger.sessions.values() {
        total += provisional(session, Some(day), now);
    }
    total
}

/// What the reservations of a session hold at `now`, but for the step `except`.
pub(crate) fn held(session: &SessionSpend, except: Option<&str>, now: DateTime<Utc>) -> Pico {
    let mut total = Pico(0);
    for r in session.reserved.iter().filter(|r| Some(r.step.as_str()) != except && now - r.at < RESERVATION_TTL) {
        total += r.amount;
    }
    total
}

/// What every session's reservations hold, but for the step `except` of `session`.
pub(crate) fn held_day(ledger: &Ledger, session: &str, except: Option<&str>, now: DateTime<Utc>) -> Pico {
    let mut total = Pico(0);
    for (name, s) in &ledger.sessions {
        total += held(s, if name == session { except } else { None }, now);
    }
    total
}

/// The requests of `agent` sent by client `pid` are over: an agent's requests follow one another, so its next step
/// (or its stop) ends any before it.
pub(crate) fn release(session: &mut SessionSpend, agent: &str, pid: u32) {
    session.reserved.retain(|r| r.agent != agent || r.pid != pid);
}

/// Takes a reservation (replacing one for the same step: a step asked about twice holds once).
pub(crate) fn reserve(session: &mut SessionSpend, reservation: Reservation) {
    session.reserved.retain(|r| r.step != reservation.step);
    session.reserved.push(reservation);
    let excess = session.reserved.len().saturating_sub(MAX_RESERVED);
    session.reserved.drain(..excess);
}

/// Drops the reservations of clients that have exited (`alive` says whether a pid, started when recorded, runs).
pub(crate) fn forget_exited(ledger: &mut Ledger, alive: impl Fn(u32, u64) -> bool) {
    let mut seen: Vec<(u32, u64, bool)> = Vec::new();
    for session in ledger.sessions.values_mut().filter(|s| !s.reserved.is_empty()) {
        session.reserved.retain(|r| {
            if let Some(&(_, _, up)) = seen.iter().find(|(pid, start, _)| *pid == r.pid && *start == r.pid_start) {
                return up;
            }
            let up = alive(r.pid, r.pid_start);
            seen.push((r.pid, r.pid_start, up));
            up
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn usage(cache_read: u64) -> Usage {
        Usage { input_tokens: 10, output_tokens: 80, cache_read_tokens: cache_read, ..Usage::default() }
    }

    fn step(id: &str, agent: &str, cache_read: u64, tools: &[&str], cost: u64) -> Provisional {
        Provisional {
            step: id.to_owned(),
            agent: agent.to_owned(),
            key: key("m", &usage(cache_read)),
            tools: tools.iter().map(|t| t.to_string()).collect(),
            usage: usage(cache_read),
            cost: Pico(cost),
            day: at(0).date_naive(),
            at: at(0),
            since: at(0),
        }
    }

    fn ids(tools: &[&str]) -> Vec<String> {
        tools.iter().map(|t| t.to_string()).collect()
    }

    /// A response of `agent` written at `written` (seconds).
    fn seen<'a>(agent: &'a str, key: u64, tools: &'a [String], written: i64) -> Seen<'a> {
        Seen { agent, key, tools, written: at(written) }
    }

    #[test]
    fn agents_are_read_from_file_names() {
        assert_eq!(agent_of_file("/h/.claude/projects/p/s.jsonl"), "");
        assert_eq!(
            agent_of_file("/h/.claude/projects/p/s/subagents/agent-a25e1ba689f44966e.jsonl"),
            "a25e1ba689f44966e"
        );
        assert_eq!(agent_of_file("/h/p/agent-x.jsonl"), "", "a legacy file at the top is not a subagent's");
    }

    #[test]
    fn a_report_before_its_response_counts_until_the_response_is_read() {
        let mut s = SessionSpend::default();
        assert_eq!(report(&mut s, step("t/0", "", 100, &["toolu_1"], 7)), Reported::Provisional);
        assert_eq!(provisional(&s, None, at(1)), Pico(7));
        // The response's first line (its text block) is read before the line with the tool call: paired by key.
        let found = counted(&mut s, &seen("", key("m", &usage(100)), &[], 1), at(1));
        assert_eq!(found.map(|p| p.step), Some("t/0".to_owned()));
        assert_eq!(provisional(&s, None, at(1)), Pico(0));
        assert_eq!(report(&mut s, step("t/0", "", 100, &["toolu_1"], 7)), Reported::Again, "reported twice: once");
    }

    #[test]
    fn a_report_after_its_response_claims_it() {
        let mut s = SessionSpend::default();
        let tools = ids(&["toolu_9"]);
        assert_eq!(counted(&mut s, &seen("a1", key("m", &usage(5)), &tools, 1), at(1)), None);
        assert_eq!(report(&mut s, step("u/3", "a1", 5, &["toolu_9"], 7)), Reported::AlreadyCounted);
        assert_eq!(provisional(&s, None, at(1)), Pico(0));
        assert_eq!(report(&mut s, step("u/3", "a1", 5, &["toolu_9"], 7)), Reported::Again);
        // Another step with the same key pairs with nothing left: it is provisional.
        assert_eq!(report(&mut s, step("u/4", "a1", 5, &[], 7)), Reported::Provisional);
    }

    #[test]
    fn a_response_written_before_a_step_was_let_through_is_not_its_response() {
        let mut s = SessionSpend::default();
        let k = key("m", &usage(5));
        // Written before the mod's step began (an earlier response with the same key).
        counted(&mut s, &seen("", k, &[], -5), at(-5));
        let mut late = step("t/1", "", 5, &[], 7);
        late.since = at(0);
        assert_eq!(report(&mut s, late), Reported::Provisional);
        assert_eq!(counted(&mut s, &seen("", k, &[], -1), at(2)), None, "a line older than the step");
        assert_eq!(counted(&mut s, &seen("", k, &[], 0), at(2)).map(|p| p.step), Some("t/1".to_owned()));
    }

    #[test]
    fn pairing_is_one_to_one_and_per_agent() {
        let mut s = SessionSpend::default();
        let k = key("m", &usage(1));
        report(&mut s, step("a/0", "x", 1, &[], 5));
        report(&mut s, step("b/0", "y", 1, &[], 5));
        report(&mut s, step("a/1", "x", 1, &[], 5));
        assert_eq!(provisional(&s, None, at(1)), Pico(15));
        assert_eq!(counted(&mut s, &seen("y", k, &[], 1), at(1)).map(|p| p.step), Some("b/0".to_owned()));
        assert_eq!(counted(&mut s, &seen("x", k, &[], 1), at(1)).map(|p| p.step), Some("a/0".to_owned()), "oldest");
        assert_eq!(counted(&mut s, &seen("y", k, &[], 1), at(1)), None, "y's only step is paired already");
        assert_eq!(provisional(&s, None, at(1)), Pico(5));
        // A shared tool call wins over the order.
        report(&mut s, step("a/2", "x", 1, &["toolu_2"], 5));
        let tools = ids(&["toolu_2"]);
        assert_eq!(counted(&mut s, &seen("x", 0, &tools, 2), at(2)).map(|p| p.step), Some("a/2".to_owned()));
    }

    #[test]
    fn what_outlives_its_time_is_dropped() {
        let mut s = SessionSpend::default();
        report(&mut s, step("a/0", "", 1, &[], 5));
        counted(&mut s, &seen("z", 1, &[], 0), at(0));
        reserve(&mut s, Reservation { step: "a/1".into(), amount: Pico(9), at: at(0), ..Reservation::default() });
        assert_eq!(expire(&mut s, at(599)), 0);
        assert_eq!(expire(&mut s, at(600)), 1);
        assert!(s.counted.is_empty());
        assert_eq!(held(&s, None, at(1)), Pico(9));
        expire(&mut s, at(900));
        assert_eq!(held(&s, None, at(1)), Pico(0));
    }

    #[test]
    fn reservations_hold_but_for_the_asking_step() {
        let mut ledger = Ledger::default();
        let r = |step: &str, agent: &str, pid: u32, amount: u64| Reservation {
            step: step.into(),
            agent: agent.into(),
            amount: Pico(amount),
            at: at(0),
            pid,
            pid_start: 1,
        };
        let a = ledger.sessions.entry("A".into()).or_default();
        reserve(a, r("m/0", "", 10, 3));
        reserve(a, r("s/0", "sub", 10, 4));
        reserve(a, r("s/0", "sub", 10, 4));
        assert_eq!(held(a, None, at(1)), Pico(7), "a step asked about twice holds once");
        assert_eq!(held(a, Some("m/0"), at(1)), Pico(4));
        reserve(ledger.sessions.entry("B".into()).or_default(), r("b/0", "", 11, 5));
        assert_eq!(held_day(&ledger, "A", Some("m/0"), at(1)), Pico(9));
        let a = ledger.sessions.get_mut("A").unwrap();
        release(a, "sub", 10);
        assert_eq!(held(a, None, at(1)), Pico(3));
        forget_exited(&mut ledger, |pid, _| pid != 11);
        assert_eq!(held_day(&ledger, "A", None, at(1)), Pico(3), "B's client exited");
    }
}
