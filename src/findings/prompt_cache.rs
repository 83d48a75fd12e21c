//! Prompt-cache findings in one thread. A request that re-writes a cache it could have read is a rebuild: when
//! the pause before it was longer than the cache's lifetime (5 minutes, or 1 hour for 1-hour writes) the cache
//! expired unread, which is cache waste; otherwise the cache broke, which is a cache break. 1-hour writes cost 2x
//! input instead of 1.25x: they are waste too where that premium cost more than the rebuilds they saved.

use super::facts::Request;
use super::view::{View, read_instead};
use super::{Category, Finding, Scope, minutes, place};
use crate::text::thousands;
use crate::usage::{Pico, Usage};

/// A rebuild needs a prompt at least this large ...
pub(crate) const LARGE_PROMPT: u64 = 10_000;
/// ... whose cache read fell below a tenth of what the previous request had in the cache.
const NEAR_ZERO_TENTHS: u64 = 1;
const FIVE_MINUTES_MS: i64 = 5 * 60 * 1000;
const ONE_HOUR_MS: i64 = 60 * 60 * 1000;

/// Finds the cache waste and cache breaks of `view`'s thread; `session` lists the threads of its session.
pub(crate) fn find(view: &View, views: &[View], session: &[usize], out: &mut Vec<Finding>) {
    let thread = view.thread;
    if thread.compaction {
        return;
    }
    // Claude Code issue #99360: subagents write the 5-minute cache while the main thread uses the hour.
    let mismatch = {
        let writes = |v: &View, one_hour: bool| {
            v.requests().iter().any(|r| {
                if one_hour { r.usage.cache_creation_1h_tokens > 0 } else { r.usage.cache_creation_5m_tokens > 0 }
            })
        };
        let main_hour = session.iter().any(|&t| !views[t].thread.subagent && writes(&views[t], true));
        let sub_five = session
            .iter()
            .any(|&t| views[t].thread.subagent && !views[t].thread.compaction && writes(&views[t], false));
        main_hour && sub_five
    };
    // The session's cache hit ratio: cache reads over prompt tokens, every context of it.
    let (read, prompt) = session
        .iter()
        .flat_map(|&t| views[t].requests().iter().filter(|r| r.counted))
        .fold((0u64, 0u64), |(read, prompt), r| (read + r.usage.cache_read_tokens, prompt + r.usage.prompt_tokens()));
    let hit = if prompt == 0 { 0.0 } else { read as f64 * 100.0 / prompt as f64 };
    let counted: Vec<(usize, &Request)> = view.requests().iter().enumerate().filter(|(_, r)| r.counted).collect();
    let mut ttl = FIVE_MINUTES_MS;
    let (mut premium, mut saved, mut kept) = (Pico(0), Pico(0), 0u64);
    let mut first_hour: Option<&Request> = None;
    for pair in counted.windows(2) {
        let ((pi, p), (ni, n)) = (pair[0], pair[1]);
        if p.usage.cache_creation_1h_tokens > 0 {
            ttl = ONE_HOUR_MS;
        } else if p.usage.cache_creation_5m_tokens > 0 {
            ttl = FIVE_MINUTES_MS;
        }
        let cached = p.usage.cache_read_tokens + p.usage.cache_creation_tokens();
        let gap = n.at_ms - p.at_ms;
        let prompt = n.usage.prompt_tokens();
        let same_context = view.epoch[pi] == view.epoch[ni];
        let rebuild = same_context
            && prompt >= LARGE_PROMPT
            && prompt * 2 >= cached
            && n.usage.cache_read_tokens * 10 < cached * NEAR_ZERO_TENTHS;
        if rebuild {
            let rebuilt =
                (cached - n.usage.cache_read_tokens).min(n.usage.cache_creation_tokens() + n.usage.input_tokens);
            let cost = view.saved(n, &read_instead(&n.usage, rebuilt));
            if cost == Pico(0) {
                continue;
            }
            let at = place(thread, n.line);
            let (category, detail) = if gap > ttl {
                let life = if ttl == ONE_HOUR_MS { "1-hour" } else { "5-minute" };
                let detail = format!(
                    "cache expired after {} idle ({life} cache): {} tokens written again; the session's cache hit \
                     ratio is {hit:.0}% ({at})",
                    minutes(gap),
                    thousands(rebuilt)
                );
                (Category::CacheWaste, detail)
            } else {
                let model = |r: &Request| thread.models[r.model as usize].as_str();
                let cause = if p.model != n.model {
                    format!("the model changed from {} to {}", model(p), model(n))
                } else if mismatch {
                    "subagents write the 5-minute cache while the main thread writes the 1-hour one \
                     (anthropics/claude-code#99360)"
                        .to_owned()
                } else {
                    "the cause is not in the transcript (system prompt, tools or MCP servers changed?)".to_owned()
                };
                let detail = format!(
                    "cache read fell from {} to {} tokens with a {}-token prompt, {} after the last request: {} \
                     tokens written again; {cause} ({at})",
                    thousands(cached),
                    thousands(n.usage.cache_read_tokens),
                    thousands(prompt),
                    minutes(gap),
                    thousands(rebuilt)
                );
                (Category::CacheBreaks, detail)
            };
            out.push(Finding {
                category,
                session: thread.session.clone(),
                at_ms: n.at_ms,
                scope: Scope::Request,
                detail,
                tokens: rebuilt,
                cost,
            });
        } else if ttl == ONE_HOUR_MS && gap > FIVE_MINUTES_MS && gap <= ONE_HOUR_MS && same_context {
            // Read after a pause a 5-minute cache would not have survived: the hour paid off here.
            let kept_tokens = n.usage.cache_read_tokens.min(cached);
            let rewritten = Usage {
                cache_read_tokens: n.usage.cache_read_tokens - kept_tokens,
                cache_creation_5m_tokens: n.usage.cache_creation_5m_tokens + kept_tokens,
                ..n.usage
            };
            saved += Pico(view.price(n, &rewritten).0.saturating_sub(n.cost.0));
            kept += 1;
        }
    }
    for (_, r) in &counted {
        if r.usage.cache_creation_1h_tokens > 0 {
            first_hour.get_or_insert(r);
            let as_five = Usage {
                cache_creation_5m_tokens: r.usage.cache_creation_5m_tokens + r.usage.cache_creation_1h_tokens,
                cache_creation_1h_tokens: 0,
                ..r.usage
            };
            premium += view.saved(r, &as_five);
        }
    }
    if let Some(first) = first_hour
        && premium.0 > saved.0 + Pico::PER_USD / 100
    {
        out.push(Finding {
            category: Category::CacheWaste,
            session: thread.session.clone(),
            at_ms: first.at_ms,
            scope: Scope::Request,
            detail: format!(
                "1-hour cache writes cost ${:.2} more than 5-minute ones would have, and saved ${:.2} ({kept} reads \
                 after pauses of 5 to 60 minutes); the session's cache hit ratio is {hit:.0}% ({})",
                premium.usd(),
                saved.usd(),
                place(thread, first.line)
            ),
            tokens: counted.iter().map(|(_, r)| r.usage.cache_creation_1h_tokens).sum(),
            cost: Pico(premium.0 - saved.0),
        });
    }
}
