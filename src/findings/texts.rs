//! Findings about what was sent rather than done: the same large block of text sent again in one session
//! (duplicate instructions), and what the compaction requests cost.

use super::view::View;
use super::{Category, Finding, Scope, place};
use crate::text::thousands;
use std::collections::HashMap;

/// The threads (indexes) of each session.
pub(crate) fn by_session(threads: &[super::facts::Thread]) -> HashMap<String, Vec<usize>> {
    let mut sessions: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, t) in threads.iter().enumerate() {
        sessions.entry(t.session.clone()).or_default().push(i);
    }
    sessions
}

/// A block of text seen again in the same session (main thread or subagents; compaction requests, which always
/// send the same instructions, aside) is a duplicate: priced as its tokens in every request of the context from
/// the one that sent it again.
pub(crate) fn duplicates(views: &[View], sessions: &HashMap<String, Vec<usize>>, out: &mut Vec<Finding>) {
    for threads in sessions.values() {
        // Every large text of the session, in time order.
        let mut texts: Vec<(i64, usize, usize)> = Vec::new();
        for &t in threads {
            let v = &views[t];
            if v.thread.compaction {
                continue;
            }
            for (i, text) in v.thread.texts.iter().enumerate() {
                let at = text.at_ms.or_else(|| v.requests().get(text.before as usize).map(|r| r.at_ms));
                // A text sent with a request the duplicate rule counts elsewhere is a copy: audited there.
                if v.requests().get(text.before as usize).is_some_and(|r| !r.counted) {
                    continue;
                }
                texts.push((at.unwrap_or(0), t, i));
            }
        }
        texts.sort_unstable();
        let mut first: HashMap<u64, (usize, usize)> = HashMap::new();
        for (at, t, i) in texts {
            let v = &views[t];
            let text = &v.thread.texts[i];
            let Some(&(ft, fi)) = first.get(&text.hash) else {
                first.insert(text.hash, (t, i));
                continue;
            };
            let tokens = v.tokens(text.before, text.bytes);
            let carry = v.carry(text.before, tokens);
            let earlier = &views[ft];
            let where_first = if ft == t {
                format!("line {}", earlier.thread.texts[fi].line)
            } else {
                place(earlier.thread, earlier.thread.texts[fi].line)
            };
            out.push(Finding {
                category: Category::DuplicateInstructions,
                session: v.thread.session.clone(),
                at_ms: at,
                scope: Scope::Request,
                detail: format!(
                    "\"{}\" ({} tokens) sent again, first sent at {where_first} ({})",
                    text.preview,
                    thousands(tokens),
                    place(v.thread, text.line)
                ),
                tokens: carry.tokens,
                cost: carry.cost,
            });
        }
    }
}

/// Each request of a compaction file: what summarising the context cost.
pub(crate) fn compaction(views: &[View], sessions: &HashMap<String, Vec<usize>>, out: &mut Vec<Finding>) {
    for v in views.iter().filter(|v| v.thread.compaction) {
        // The parent's boundary just after it tells why (auto or manual) and how large the context was.
        let boundaries: Vec<&super::facts::Boundary> = sessions[&v.thread.session]
            .iter()
            .map(|&t| &views[t])
            .filter(|p| !p.thread.subagent)
            .flat_map(|p| p.thread.boundaries.iter())
            .collect();
        for r in v.requests().iter().filter(|r| r.counted) {
            let boundary = boundaries
                .iter()
                .filter(|b| b.at_ms.is_some_and(|at| at >= r.at_ms && at - r.at_ms < 10 * 60 * 1000))
                .min_by_key(|b| b.at_ms);
            let why = match boundary {
                Some(b) => format!(
                    "{} compaction of a {}-token context",
                    b.trigger.as_deref().unwrap_or("a"),
                    b.pre_tokens.map_or_else(|| "?".to_owned(), thousands)
                ),
                None => "compaction".to_owned(),
            };
            out.push(Finding {
                category: Category::Compaction,
                session: v.thread.session.clone(),
                at_ms: r.at_ms,
                scope: Scope::Request,
                detail: format!(
                    "{why}: {} prompt tokens summarised into {} ({})",
                    thousands(r.usage.prompt_tokens()),
                    thousands(r.usage.output_tokens),
                    place(v.thread, r.line)
                ),
                tokens: r.usage.total_tokens(),
                cost: r.cost,
            });
        }
    }
}
