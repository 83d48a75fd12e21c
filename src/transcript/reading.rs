//! What one transcript line says a response cost (a [`Reading`]), and the one rule, shared by the hook's ledger and
//! the reports, for choosing among the lines of one response: **the costliest reading counts**. A response's spend
//! can therefore only go up as lines are appended: a line that repeats a response's ids with a cheaper model, or
//! with more tokens priced lower, never re-prices it down. Growing streaming snapshots (the usual case) differ only
//! in output tokens, and there the costliest is also the largest.

use crate::pricing::{PriceTable, Resolved, ResponseFacts, Speed};
use crate::usage::{Pico, Usage};
use chrono::{DateTime, Utc};

/// Usage billed to another model inside one response: an advisor's iterations (`usage.iterations[]` with
/// `type: "advisor_message"`), which the top-level totals leave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub model: String,
    pub usage: Usage,
}

/// One line's account of a response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    pub model: String,
    /// The top-level usage: the response's own model.
    pub usage: Usage,
    pub fast: bool,
    pub inference_geo: Option<String>,
    pub advisor: Vec<Part>,
    pub timestamp: DateTime<Utc>,
}

/// What a reading costs, for ranking and for the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Priced {
    pub cost: Pico,
    /// Every model of the reading is in the price table (else part of it was priced by a guess).
    pub known_model: bool,
    /// What one more output token of the response's own model would cost: the price of the output a response
    /// whose final usage was never written is estimated at.
    pub output_rate: u64,
}

/// The order of readings: by cost, then by tokens (a model priced at $0 still keeps its largest snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    pub cost: Pico,
    pub tokens: u64,
}

impl Rank {
    /// Whether a reading ranked `self` replaces one ranked `counted`: only a costlier one does (on equal cost, one
    /// with more tokens), so the spend of a response never goes down.
    pub(crate) fn replaces(self, counted: Rank) -> bool {
        self > counted
    }
}

impl Reading {
    /// Every token of the response, its advisor's included.
    pub(crate) fn total_usage(&self) -> Usage {
        let mut total = self.usage;
        for part in &self.advisor {
            total.add(&part.usage);
        }
        total
    }

    /// Whether another line reads exactly as this one, its time aside (then it has the same price).
    pub(crate) fn same_as(&self, other: &Reading) -> bool {
        self.model == other.model
            && self.usage == other.usage
            && self.fast == other.fast
            && self.inference_geo == other.inference_geo
            && self.advisor == other.advisor
            && self.timestamp.date_naive() == other.timestamp.date_naive()
    }

    pub(crate) fn rank(&self, priced: &Priced) -> Rank {
        Rank { cost: priced.cost, tokens: self.total_usage().total_tokens() }
    }

    /// Whether two lines of one response tell different stories: another model, or another prompt (input and cache
    /// tokens). Snapshots of one response differ in output only.
    pub(crate) fn disagrees_with(&self, other: &Reading) -> bool {
        let prompt =
            |u: &Usage| (u.input_tokens, u.cache_creation_5m_tokens, u.cache_creation_1h_tokens, u.cache_read_tokens);
        self.model != other.model || prompt(&self.usage) != prompt(&other.usage)
    }

    /// The reading's price: its own model's usage (with fast mode and the inference region), plus each advisor part
    /// at that part's model, on the reading's date.
    pub(crate) fn price(&self, prices: &PriceTable) -> Priced {
        self.price_with(&mut |model| prices.resolve(model))
    }

    /// [`Reading::price`], with `resolve` finding a model's prices (a fold remembers them for its file).
    pub(crate) fn price_with(&self, resolve: &mut dyn FnMut(&str) -> Resolved) -> Priced {
        let date = self.timestamp.date_naive();
        let speed = if self.fast { Speed::Fast } else { Speed::Standard };
        let geo = self.inference_geo.as_deref();
        let facts = ResponseFacts { model: &self.model, usage: &self.usage, speed, inference_geo: geo, date };
        let (main, output_rate) = resolve(&self.model).price_and_output_rate(&facts);
        let mut priced = Priced { cost: main.cost, known_model: main.known_model, output_rate };
        for part in &self.advisor {
            let facts = ResponseFacts {
                model: &part.model,
                usage: &part.usage,
                speed: Speed::Standard,
                inference_geo: geo,
                date,
            };
            let price = resolve(&part.model).price_and_output_rate(&facts).0;
            priced.cost += price.cost;
            priced.known_model &= price.known_model;
        }
        priced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(model: &str, input: u64, output: u64) -> Reading {
        Reading {
            model: model.to_owned(),
            usage: Usage { input_tokens: input, output_tokens: output, ..Usage::default() },
            fast: false,
            inference_geo: None,
            advisor: Vec::new(),
            timestamp: DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap().with_timezone(&Utc),
        }
    }

    #[test]
    fn the_costliest_reading_ranks_first_whatever_its_tokens() {
        let prices = PriceTable::builtin();
        let opus = reading("claude-opus-4-8", 100_000, 150_000);
        let cheap = reading("claude-haiku-5-5", 100_000, 900_000);
        let (a, b) = (opus.rank(&opus.price(&prices)), cheap.rank(&cheap.price(&prices)));
        assert!(b.tokens > a.tokens);
        assert!(!b.replaces(a), "more tokens on a cheap model never re-price a response down");
        assert!(a.replaces(b));
        assert!(opus.disagrees_with(&cheap));
        assert!(!opus.disagrees_with(&reading("claude-opus-4-8", 100_000, 9)), "snapshots differ in output only");
    }

    #[test]
    fn advisor_parts_are_priced_at_their_own_model() {
        let prices = PriceTable::builtin();
        let mut r = reading("claude-sonnet-5", 100, 10);
        let main = r.price(&prices).cost;
        r.advisor.push(Part {
            model: "claude-opus-4-8".to_owned(),
            usage: Usage { input_tokens: 20_000, output_tokens: 1_000, ..Usage::default() },
        });
        // Opus 4.8: 20k in at $5 and 1k out at $25 per million.
        assert_eq!(r.price(&prices).cost, main.saturating_add(Pico::from_usd(0.125)));
        assert_eq!(r.total_usage().input_tokens, 20_100);
        // Sonnet 5 output: $10 per million, 10^7 pico-dollars a token.
        assert_eq!(r.price(&prices).output_rate, 10_000_000);
    }
}
