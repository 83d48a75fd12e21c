//! One thread seen the way its findings are priced: which requests share a context (compaction starts a new
//! one), how many tokens a tool result or a text became, and what a change to a request would have saved, priced
//! by the budget's own table ([`PriceTable::price`]) as "what the request cost" minus "what it would have cost".

use super::facts::{Request, Thread};
use crate::pricing::{PriceTable, ResponseFacts, Speed};
use crate::usage::{Pico, Usage};

/// Bytes per token measured on real transcripts (tool results of 4-55 KB against the growth of the next prompt:
/// 2.2 to 3.9, about 3.3): used where the next request does not tell.
const BYTES_PER_TOKEN_TENTHS: u64 = 33;

/// Where tokens taken out of a request's prompt come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// The request that first sends new content writes it to the cache (or sends it uncached).
    New,
    /// Later requests read it from the cache.
    Carried,
}

/// What carrying some tokens cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Carry {
    pub cost: Pico,
    /// The tokens times the requests that carried them.
    pub tokens: u64,
    pub requests: u64,
}

pub(crate) struct View<'a> {
    pub thread: &'a Thread,
    prices: &'a PriceTable,
    /// Per request: which context it belongs to (a compaction, or a prompt that halves, starts a new one).
    pub epoch: Vec<u32>,
    /// Per gap `b` (before request `b`): how much the prompt grew beyond the previous request and its answer.
    growth: Vec<Option<u64>>,
    /// Per request: how many tool calls its response issued.
    calls_in: Vec<u32>,
    /// Per gap: how many tool results arrived in it.
    results_in: Vec<u32>,
}

impl<'a> View<'a> {
    pub(crate) fn new(thread: &'a Thread, prices: &'a PriceTable) -> View<'a> {
        let requests = &thread.requests;
        let mut epoch = Vec::with_capacity(requests.len());
        let mut current = 0u32;
        for (i, r) in requests.iter().enumerate() {
            let boundary = thread.boundaries.iter().any(|b| b.before as usize == i && i > 0);
            let halved = i > 0 && r.usage.prompt_tokens() * 2 < requests[i - 1].usage.prompt_tokens();
            if boundary || halved {
                current += 1;
            }
            epoch.push(current);
        }
        let mut growth = vec![None; requests.len() + 1];
        for b in 1..requests.len() {
            let (p, n) = (&requests[b - 1], &requests[b]);
            let before = p.usage.prompt_tokens() + p.usage.output_tokens;
            if epoch[b] == epoch[b - 1] && n.usage.prompt_tokens() > before {
                growth[b] = Some(n.usage.prompt_tokens() - before);
            }
        }
        let mut calls_in = vec![0u32; requests.len()];
        for call in &thread.calls {
            if let Some(n) = calls_in.get_mut(call.request as usize) {
                *n += 1;
            }
        }
        let mut results_in = vec![0u32; requests.len() + 1];
        for result in &thread.results {
            if let Some(n) = results_in.get_mut(result.before as usize) {
                *n += 1;
            }
        }
        View { thread, prices, epoch, growth, calls_in, results_in }
    }

    pub(crate) fn requests(&self) -> &'a [Request] {
        &self.thread.requests
    }

    /// The request at `index`, if there is one and the duplicate rule counts it here.
    pub(crate) fn counted(&self, index: u32) -> Option<&'a Request> {
        self.thread.requests.get(index as usize).filter(|r| r.counted)
    }

    /// The tokens `bytes` of content sent before request `before` became: the next prompt's growth shared among
    /// what arrived with it by size, or the measured bytes per token where the next request does not tell.
    pub(crate) fn tokens(&self, before: u32, bytes: u64) -> u64 {
        let fallback = bytes * 10 / BYTES_PER_TOKEN_TENTHS;
        let total = self.thread.gap_bytes.get(before as usize).copied().unwrap_or(0);
        match self.growth.get(before as usize).copied().flatten() {
            Some(growth) if total > 0 => {
                let share = (u128::from(growth) * u128::from(bytes) / u128::from(total)) as u64;
                share.clamp(bytes / 8, bytes / 2)
            }
            _ => fallback,
        }
    }

    /// What `tokens` of content first sent with request `before` cost in every request of the same context
    /// from there on (writing them once, reading them after).
    pub(crate) fn carry(&self, before: u32, tokens: u64) -> Carry {
        let mut carry = Carry::default();
        let start = before as usize;
        let Some(&epoch) = self.epoch.get(start) else { return carry };
        if tokens == 0 {
            return carry;
        }
        for (i, r) in self.thread.requests.iter().enumerate().skip(start) {
            if self.epoch[i] != epoch || r.usage.prompt_tokens() < tokens {
                break;
            }
            if !r.counted {
                continue;
            }
            let taken = if i == start { Taken::New } else { Taken::Carried };
            carry.cost += self.saved(r, &without(&r.usage, tokens, taken));
            carry.tokens += tokens;
            carry.requests += 1;
        }
        carry
    }

    /// A tool call's part of the request that issued it: its cost and output tokens shared among its calls.
    pub(crate) fn issued(&self, request: u32) -> (Pico, u64) {
        let Some(r) = self.counted(request) else { return (Pico(0), 0) };
        let n = u64::from(self.calls_in[request as usize].max(1));
        (Pico(r.cost.0 / n), r.usage.output_tokens / n)
    }

    /// The answer to a tool result: the output of the request that read it, shared among the results it read.
    pub(crate) fn reaction(&self, before: u32) -> (Pico, u64) {
        let Some(r) = self.counted(before) else { return (Pico(0), 0) };
        let n = u64::from(self.results_in[before as usize].max(1));
        let tokens = r.usage.output_tokens / n;
        let usage = Usage { output_tokens: r.usage.output_tokens - tokens, ..r.usage };
        (self.saved(r, &usage), tokens)
    }

    /// `r`'s price with `usage` in place of its own.
    pub(crate) fn price(&self, r: &Request, usage: &Usage) -> Pico {
        let facts = ResponseFacts {
            model: &self.thread.models[r.model as usize],
            usage,
            speed: if r.fast { Speed::Fast } else { Speed::Standard },
            inference_geo: r.geo_us.then_some("us"),
            date: chrono::DateTime::from_timestamp_millis(r.at_ms).unwrap_or_default().date_naive(),
        };
        self.prices.price(&facts).cost
    }

    /// What `r` cost beyond what it would have with `usage` (never below zero).
    pub(crate) fn saved(&self, r: &Request, usage: &Usage) -> Pico {
        Pico(self.price(r, &r.usage).0.saturating_sub(self.price(r, usage).0))
    }
}

/// `usage` with `tokens` fewer prompt tokens, taken from where such content sits.
pub(crate) fn without(usage: &Usage, tokens: u64, taken: Taken) -> Usage {
    let mut u = *usage;
    let mut left = tokens;
    let mut take = |bucket: &mut u64| {
        let n = left.min(*bucket);
        *bucket -= n;
        left -= n;
    };
    match taken {
        Taken::New => {
            take(&mut u.cache_creation_5m_tokens);
            take(&mut u.cache_creation_1h_tokens);
            take(&mut u.input_tokens);
            take(&mut u.cache_read_tokens);
        }
        Taken::Carried => {
            take(&mut u.cache_read_tokens);
            take(&mut u.cache_creation_5m_tokens);
            take(&mut u.cache_creation_1h_tokens);
            take(&mut u.input_tokens);
        }
    }
    u
}

/// `usage` with `tokens` of its cache writes (then uncached input) read from the cache instead.
pub(crate) fn read_instead(usage: &Usage, tokens: u64) -> Usage {
    let moved = without(usage, tokens, Taken::New);
    let n = usage.prompt_tokens() - moved.prompt_tokens();
    Usage { cache_read_tokens: moved.cache_read_tokens + n, ..moved }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_out_of_the_bucket_that_holds_them() {
        let u = Usage {
            input_tokens: 10,
            cache_creation_5m_tokens: 100,
            cache_read_tokens: 1_000,
            output_tokens: 7,
            ..Usage::default()
        };
        let new = without(&u, 105, Taken::New);
        assert_eq!((new.cache_creation_5m_tokens, new.input_tokens, new.cache_read_tokens), (0, 5, 1_000));
        let carried = without(&u, 1_050, Taken::Carried);
        assert_eq!((carried.cache_read_tokens, carried.cache_creation_5m_tokens, carried.input_tokens), (0, 50, 10));
        let read = read_instead(&u, 105);
        assert_eq!((read.cache_read_tokens, read.cache_creation_5m_tokens, read.input_tokens), (1_105, 0, 5));
        assert_eq!(read.prompt_tokens(), u.prompt_tokens());
    }
}
