//! Tool-call findings in one thread: loops, retries, failed operations, re-reads and verbose output. Each call is
//! put in one of them at most, in that order, so that no dollar is counted twice among them: a call in a loop is
//! not also a retry, a retry that fails again is not also a failed operation, and so on.
//!
//! A call costs its share of the request that issued it (a response with three calls gives each a third) plus
//! what its result cost in every later request of the same context (see [`View::carry`]).

use super::facts::{Call, ToolResult};
use super::loops::{self, Kind, Seen};
use super::view::{Carry, View};
use super::{Category, Finding, Scope, minutes, place};
use crate::text::thousands;
use crate::usage::Pico;
use std::collections::HashMap;

/// Tool results at least this large (in tokens) are verbose output.
pub(crate) const VERBOSE_TOKENS: u64 = 5_000;

/// Where and when a file was written, across a session's threads.
struct Write {
    path: u64,
    at_ms: i64,
    thread: usize,
}

/// Finds the tool-call waste of thread `me` (`views[me]`); `session` lists the threads of its session.
pub(crate) fn find(view: &View, views: &[View], session: &[usize], me: usize, out: &mut Vec<Finding>) {
    let thread = view.thread;
    // Calls of counted requests (copies of another file's responses are audited there).
    let calls: Vec<&Call> = thread.calls.iter().filter(|c| view.counted(c.request).is_some()).collect();
    let mut results: HashMap<u64, &ToolResult> = HashMap::with_capacity(thread.results.len());
    for result in &thread.results {
        results.entry(result.call).or_insert(result);
    }
    let result_of = |c: &Call| results.get(&c.id).copied();
    let at = |c: &Call| view.requests()[c.request as usize].at_ms;
    let session_id = &thread.session;
    let finding = |category, c: &Call, detail: String, carry: Carry, issued: (Pico, u64)| Finding {
        category,
        session: session_id.clone(),
        at_ms: at(c),
        scope: Scope::Request,
        detail: format!("{detail} ({})", place(thread, c.line)),
        tokens: issued.1 + carry.tokens,
        cost: issued.0.saturating_add(carry.cost),
    };
    let carried = |c: &Call| match result_of(c) {
        Some(r) => view.carry(r.before, view.tokens(r.before, r.bytes)),
        None => Carry::default(),
    };
    let mut used = vec![false; calls.len()];

    let seen: Vec<Seen> =
        calls.iter().map(|c| Seen { key: c.key, at_ms: at(c), writes: !c.writes.is_empty() }).collect();
    for l in loops::detect(&seen) {
        let mut cost = Pico(0);
        let mut tokens = 0;
        for &i in l.repeats() {
            let (issued, carry) = (view.issued(calls[i].request), carried(calls[i]));
            cost += issued.0.saturating_add(carry.cost);
            tokens += issued.1 + carry.tokens;
        }
        for &i in &l.calls {
            used[i] = true;
        }
        let (first, last) = (calls[l.calls[0]], calls[*l.calls.last().unwrap_or(&l.calls[0])]);
        let span = minutes(at(last) - at(first));
        let detail = match l.kind {
            Kind::Repeat => format!("{} made {} times in {span}", first.label, l.calls.len()),
            Kind::PingPong => {
                format!("{} and {} alternated {} times in {span}", first.label, calls[l.calls[1]].label, l.calls.len())
            }
        };
        let mut f = finding(Category::Loops, first, detail, Carry::default(), (Pico(0), 0));
        (f.cost, f.tokens) = (cost, tokens);
        out.push(f);
    }

    // Retries: a call identical to one that failed, after it.
    let mut last: HashMap<u64, (usize, bool)> = HashMap::new();
    for (i, c) in calls.iter().enumerate() {
        let failed = result_of(c).is_some_and(|r| r.error);
        if !used[i]
            && let Some(&(before, true)) = last.get(&c.key)
        {
            used[i] = true;
            let detail = format!("{} made again {} after it failed", c.label, minutes(at(c) - at(calls[before])));
            out.push(finding(Category::Retries, c, detail, carried(c), view.issued(c.request)));
        }
        last.insert(c.key, (i, failed));
    }

    // Failed operations: the call, its error in later requests, and the output of the request that answered it.
    for (i, c) in calls.iter().enumerate() {
        let Some(result) = result_of(c).filter(|r| r.error) else { continue };
        if used[i] {
            continue;
        }
        used[i] = true;
        let (issued, reaction) = (view.issued(c.request), view.reaction(result.before));
        let both = (issued.0.saturating_add(reaction.0), issued.1 + reaction.1);
        out.push(finding(Category::FailedOps, c, format!("{} failed", c.label), carried(c), both));
    }
    for e in &thread.api_errors {
        let at_ms = e.at_ms.or_else(|| view.requests().get(e.before as usize).map(|r| r.at_ms)).unwrap_or(0);
        out.push(Finding {
            category: Category::FailedOps,
            session: session_id.clone(),
            at_ms,
            scope: Scope::Request,
            detail: format!("API error {}: not billed, the client retried ({})", e.kind, place(thread, e.line)),
            tokens: 0,
            cost: Pico(0),
        });
    }

    // Re-reads: the same part of a file read again, with nothing written to it in between (by any thread of the
    // session) and no compaction in between.
    let writes: Vec<Write> = session
        .iter()
        .filter(|&&t| t != me)
        .flat_map(|&t| {
            let v = &views[t];
            v.thread.calls.iter().filter(|c| v.counted(c.request).is_some()).flat_map(move |c| {
                let at_ms = v.requests()[c.request as usize].at_ms;
                c.writes.iter().map(move |&path| Write { path, at_ms, thread: t })
            })
        })
        .collect();
    let mut reads: HashMap<u64, (usize, u64)> = HashMap::new();
    for (i, c) in calls.iter().enumerate() {
        if let Some(key) = c.read
            && result_of(c).is_some_and(|r| !r.error)
        {
            let earlier = reads.get(&key).map(|&(j, _)| calls[j]);
            let same_context = |e: &Call| view.epoch[e.request as usize] == view.epoch[c.request as usize];
            let written_elsewhere = |e: &Call| {
                writes.iter().any(|w| Some(w.path) == c.path && w.thread != me && w.at_ms > at(e) && w.at_ms < at(c))
            };
            if let Some(e) = earlier.filter(|e| same_context(e) && !written_elsewhere(e))
                && !used[i]
            {
                used[i] = true;
                let detail = format!(
                    "{} read again, unchanged since line {} ({} earlier)",
                    c.label,
                    e.line,
                    minutes(at(c) - at(e))
                );
                out.push(finding(Category::ReReads, c, detail, carried(c), view.issued(c.request)));
            }
            reads.insert(key, (i, c.path.unwrap_or(0)));
        }
        if !c.writes.is_empty() {
            reads.retain(|_, (_, path)| !c.writes.contains(path));
        }
    }

    // Verbose output: what is left of the large results.
    for (i, c) in calls.iter().enumerate() {
        let Some(result) = result_of(c) else { continue };
        let tokens = view.tokens(result.before, result.bytes);
        if used[i] || tokens < VERBOSE_TOKENS {
            continue;
        }
        let carry = view.carry(result.before, tokens);
        let detail = format!(
            "{} returned about {} tokens, carried by {} later requests",
            c.label,
            thousands(tokens),
            carry.requests.saturating_sub(1)
        );
        out.push(finding(Category::VerboseOutput, c, detail, carry, (Pico(0), 0)));
    }
}
