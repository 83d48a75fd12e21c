//! What a report keeps of one transcript file, small enough to cache: its spend summed per quarter hour and
//! model, plus, one by one, the few responses that de-duplication still has to judge.
//!
//! A response whose message id appears in no other response anywhere is always counted (the duplicate rule
//! only ever looks at responses with the same message id), so it can be summed into a [`Bucket`] and forgotten.
//! The others (resumed sessions' copies, sidechain replays, and the responses they copied) stay [`Entry`]s and
//! are judged again on every report. A quarter hour is the finest grain any time zone's day or hour starts on,
//! so buckets still fall into the right day in every zone and into the right 5-hour block.

use crate::transcript::Response;
use crate::transcript::ResponseKey;
use crate::usage::{Pico, Usage};

/// Milliseconds in a bucket: 15 minutes.
pub(crate) const SLOT_MS: i64 = 15 * 60 * 1000;

/// The quarter hour (counted from the Unix epoch) an instant falls in.
pub(crate) fn slot_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(SLOT_MS)
}

/// One response, as reports keep it while it may still be a copy of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: ResponseKey,
    /// Its timestamp, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub usage: Usage,
    pub cost: Pico,
    /// Index into the file's [`FileSummary::models`].
    pub model: u32,
    /// Its place among the file's responses: the order copies are judged in.
    pub place: u32,
    pub sidechain: bool,
    pub detached: bool,
}

impl Entry {
    /// The UTC day (days since the epoch) whose responses it is compared with, as the hook's key logs do.
    pub(crate) fn utc_day(&self) -> i64 {
        self.at_ms.div_euclid(86_400_000)
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
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Bucket {
    pub(crate) fn of(entry: &Entry) -> Bucket {
        Bucket {
            slot: slot_of(entry.at_ms),
            model: entry.model,
            usage: entry.usage,
            cost: entry.cost,
            responses: 1,
            first_ms: entry.at_ms,
            last_ms: entry.at_ms,
        }
    }

    pub(crate) fn add(&mut self, other: &Bucket) {
        self.usage.add(&other.usage);
        self.cost += other.cost;
        self.responses += other.responses;
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
    /// Adds `responses` (the file's, in order) as [`Entry`]s; `costs` are their prices, in the same order.
    pub(crate) fn with_responses(mut self, responses: &[Response], costs: &[Pico]) -> FileSummary {
        self.entries.reserve(responses.len());
        for (place, (r, &cost)) in responses.iter().zip(costs).enumerate() {
            let model = match self.models.iter().position(|m| *m == r.model) {
                Some(i) => i,
                None => {
                    self.models.push(r.model.clone());
                    self.models.len() - 1
                }
            };
            self.entries.push(Entry {
                key: r.key,
                at_ms: r.timestamp.timestamp_millis(),
                usage: r.usage,
                cost,
                model: model as u32,
                place: place as u32,
                sidechain: r.sidechain,
                detached: r.detached,
            });
        }
        self
    }

    /// Sums every entry whose message id `is_unique` into the buckets; the rest stay entries.
    pub(crate) fn settle(&mut self, is_unique: impl Fn(u64) -> bool) {
        let (unique, rest): (Vec<Entry>, Vec<Entry>) =
            std::mem::take(&mut self.entries).into_iter().partition(|e| is_unique(e.key.message));
        self.entries = rest;
        self.unique.extend(unique.iter().map(|e| e.key.message));
        self.unique.sort_unstable();
        let mut buckets = std::mem::take(&mut self.buckets);
        buckets.extend(unique.iter().map(Bucket::of));
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
            usage: Usage { output_tokens: output, ..Usage::default() },
            cost: Pico(output),
            model,
            place,
            sidechain: false,
            detached: false,
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
        let a = Bucket::of(&entry(1, 100, 1, 0, 0));
        let b = Bucket::of(&entry(2, 900, 2, 0, 1));
        let merged = merge(vec![b, a]);
        assert_eq!(merged.len(), 1);
        assert_eq!(
            (merged[0].first_ms, merged[0].last_ms, merged[0].responses, merged[0].cost),
            (100, 900, 2, Pico(3))
        );
    }
}
