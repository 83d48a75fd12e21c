//! What a report keeps of one transcript file, small enough to cache: its spend summed per quarter hour and
//! model, plus, one by one, the few responses that de-duplication still has to judge.
//!
//! A response whose message id appears in no other response anywhere is always counted (the duplicate rule
//! only ever looks at responses with the same message id), so it can be summed into a [`Bucket`] and forgotten.
//! The others (resumed sessions' copies, sidechain replays, and the responses they copied) stay [`Entry`]s and
//! are judged again on every report. A quarter hour is the finest grain any time zone's day or hour starts on,
//! so buckets still fall into the right day in every zone and into the right 5-hour block.

use crate::pricing::PriceTable;
use crate::transcript::reading::{Priced, Rank, Reading};
use crate::transcript::{Response, ResponseKey};
use crate::usage::{Pico, Usage};

/// Milliseconds in a bucket: 15 minutes.
pub(crate) const SLOT_MS: i64 = 15 * 60 * 1000;

/// The quarter hour (counted from the Unix epoch) an instant falls in.
pub(crate) fn slot_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(SLOT_MS)
}

/// Usage of one model inside a response: its own, or an advisor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    /// Index into the file's [`FileSummary::models`].
    pub model: u32,
    pub usage: Usage,
    pub cost: Pico,
}

/// One response, as reports keep it while it may still be a copy of another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: ResponseKey,
    /// The time of its counted reading, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Its own model's usage and cost.
    pub main: Part,
    /// Its advisor's usage, each at the advisor's model.
    pub advisor: Vec<Part>,
    /// Its place among the file's responses: the order copies are judged in.
    pub place: u32,
    pub sidechain: bool,
    pub detached: bool,
    /// Claude Code never wrote its final usage: what it holds is a lower bound.
    pub incomplete: bool,
}

impl Entry {
    /// Its rank under the shared rule: the costliest reading counts.
    pub(crate) fn rank(&self) -> Rank {
        let mut cost = self.main.cost;
        let mut tokens = self.main.usage.total_tokens();
        for part in &self.advisor {
            cost += part.cost;
            tokens += part.usage.total_tokens();
        }
        Rank { cost, tokens }
    }

    /// Its buckets: its own model's (one response), then its advisor's (no response of their own).
    pub(crate) fn buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        let one = |part: &Part, responses: u64, incomplete: bool| Bucket {
            slot: slot_of(self.at_ms),
            model: part.model,
            usage: part.usage,
            cost: part.cost,
            responses,
            incomplete: u64::from(incomplete),
            first_ms: self.at_ms,
            last_ms: self.at_ms,
        };
        std::iter::once(one(&self.main, 1, self.incomplete)).chain(self.advisor.iter().map(move |p| one(p, 0, false)))
    }
}

/// Responses of one file and model in one quarter hour, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub slot: i64,
    pub model: u32,
    pub usage: Usage,
    pub cost: Pico,
    pub responses: u64,
    /// Of which Claude Code never wrote the final usage.
    pub incomplete: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Bucket {
    pub(crate) fn add(&mut self, other: &Bucket) {
        self.usage.add(&other.usage);
        self.cost += other.cost;
        self.responses += other.responses;
        self.incomplete += other.incomplete;
        self.first_ms = self.first_ms.min(other.first_ms);
        self.last_ms = self.last_ms.max(other.last_ms);
    }
}

/// Which file a summary was made from: any change (a new inode, growth, a touch) means it is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: i64,
}

/// One transcript file's contribution to reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FileSummary {
    pub path: String,
    pub identity: Identity,
    /// The session it belongs to (a subagent's file belongs to its parent's session).
    pub session: String,
    pub project: String,
    /// A subagent's transcript (under `<session>/subagents/`, or a legacy `agent-*.jsonl`).
    pub subagent: bool,
    pub malformed: u64,
    /// Model names, indexed by [`Entry::model`] and [`Bucket::model`].
    pub models: Vec<String>,
    /// Responses whose message id is unique everywhere, summed (sorted by slot, then model).
    pub buckets: Vec<Bucket>,
    /// Message-id hashes of the responses in `buckets`, sorted: a new file sharing one means this file must be
    /// read again, so that de-duplication can judge that response on its own.
    pub unique: Vec<u64>,
    /// Every other response, in file order.
    pub entries: Vec<Entry>,
}

impl FileSummary {
    /// Adds `responses` (the file's, in order, priced) as [`Entry`]s; `prices` splits a reading's price between its
    /// own model and its advisor's.
    pub(crate) fn with_responses(mut self, responses: &[Response], prices: &PriceTable) -> FileSummary {
        self.entries.reserve(responses.len());
        for (place, r) in responses.iter().enumerate() {
            let (main, advisor) = self.parts(&r.reading, &r.priced, prices);
            self.entries.push(Entry {
                key: r.key,
                at_ms: r.timestamp().timestamp_millis(),
                main,
                advisor,
                place: place as u32,
                sidechain: r.sidechain,
                detached: r.detached,
                incomplete: r.incomplete(),
            });
        }
        self
    }

    /// The index of `model` in [`FileSummary::models`], added if missing.
    pub(crate) fn model_index(&mut self, model: &str) -> u32 {
        match self.models.iter().position(|m| m == model) {
            Some(i) => i as u32,
            None => {
                self.models.push(model.to_owned());
                (self.models.len() - 1) as u32
            }
        }
    }

    fn parts(&mut self, reading: &Reading, priced: &Priced, prices: &PriceTable) -> (Part, Vec<Part>) {
        let mut main_cost = priced.cost;
        let advisor: Vec<Part> = reading
            .advisor
            .iter()
            .map(|part| {
                let alone =
                    Reading { model: part.model.clone(), usage: part.usage, advisor: Vec::new(), ..reading.clone() };
                let cost = Reading { fast: false, ..alone }.price(prices).cost;
                main_cost = main_cost.saturating_sub(cost);
                Part { model: self.model_index(&part.model), usage: part.usage, cost }
            })
            .collect();
        (Part { model: self.model_index(&reading.model), usage: reading.usage, cost: main_cost }, advisor)
    }

    /// Sums every entry whose message id `is_unique` into the buckets; the rest stay entries.
    pub(crate) fn settle(&mut self, is_unique: impl Fn(u64) -> bool) {
        let (unique, rest): (Vec<Entry>, Vec<Entry>) =
            std::mem::take(&mut self.entries).into_iter().partition(|e| is_unique(e.key.message));
        self.entries = rest;
        self.unique.extend(unique.iter().map(|e| e.key.message));
        self.unique.sort_unstable();
        let mut buckets = std::mem::take(&mut self.buckets);
        buckets.extend(unique.iter().flat_map(Entry::buckets));
        self.buckets = merge(buckets);
    }
}

/// Buckets of the same slot and model summed into one, sorted by slot and model.
pub(crate) fn merge(mut buckets: Vec<Bucket>) -> Vec<Bucket> {
    buckets.sort_unstable_by_key(|b| (b.slot, b.model));
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        match merged.last_mut() {
            Some(last) if last.slot == bucket.slot && last.model == bucket.model => last.add(&bucket),
            _ => merged.push(bucket),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(message: u64, at_ms: i64, output: u64, model: u32, place: u32) -> Entry {
        Entry {
            key: ResponseKey { message, request: message },
            at_ms,
            main: Part { model, usage: Usage { output_tokens: output, ..Usage::default() }, cost: Pico(output) },
            advisor: Vec::new(),
            place,
            sidechain: false,
            detached: false,
            incomplete: false,
        }
    }

    #[test]
    fn slots_are_quarter_hours_from_the_epoch() {
        assert_eq!(slot_of(0), 0);
        assert_eq!(slot_of(SLOT_MS - 1), 0);
        assert_eq!(slot_of(SLOT_MS), 1);
        assert_eq!(slot_of(-1), -1);
    }

    #[test]
    fn settling_sums_unique_responses_and_keeps_the_rest() {
        let mut summary = FileSummary {
            models: vec!["a".into(), "b".into()],
            entries: vec![
                entry(1, 1_000, 10, 0, 0),
                entry(2, 2_000, 20, 0, 1),
                entry(3, 3_000, 30, 1, 2),
                entry(4, SLOT_MS + 5, 40, 0, 3),
            ],
            ..FileSummary::default()
        };
        summary.settle(|message| message != 2);
        assert_eq!(summary.entries.iter().map(|e| e.place).collect::<Vec<_>>(), [1]);
        assert_eq!(summary.unique, [1, 3, 4]);
        let sums: Vec<_> = summary.buckets.iter().map(|b| (b.slot, b.model, b.cost.0, b.responses)).collect();
        assert_eq!(sums, [(0, 0, 10, 1), (0, 1, 30, 1), (1, 0, 40, 1)]);
        assert_eq!((summary.buckets[0].first_ms, summary.buckets[0].last_ms), (1_000, 1_000));
    }

    #[test]
    fn merging_sums_equal_slots_and_models() {
        let a = entry(1, 100, 1, 0, 0).buckets().next().unwrap();
        let b = entry(2, 900, 2, 0, 1).buckets().next().unwrap();
        let merged = merge(vec![b, a]);
        assert_eq!(merged.len(), 1);
        assert_eq!(
            (merged[0].first_ms, merged[0].last_ms, merged[0].responses, merged[0].cost),
            (100, 900, 2, Pico(3))
        );
    }
}
