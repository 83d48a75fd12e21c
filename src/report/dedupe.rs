//! De-duplication for reports: the hook's rule ([`keys::judge`]) in the hook's order
//! ([`account::counting_order`]), with an in-memory index in place of the on-disk key logs. The copies of one
//! response make one counted response: it belongs to the first copy in that order (the line written in place
//! before copies), and it is counted at the costliest of their readings, unfinished only if every copy is.
//!
//! [`keys::judge`]: crate::ledger::keys::judge
//! [`account::counting_order`]: crate::ledger::account::counting_order

use super::summary::Entry;
use crate::ledger::account::counting_order;
use crate::ledger::keys::{Candidate, Seen, judge};
use std::collections::HashMap;

/// How an entry that owns a response counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    /// The entry (file, index) whose reading counts: the costliest copy.
    pub reading: (usize, usize),
    /// No copy of it is its final record.
    pub incomplete: bool,
}

/// Which entries count and how: `files` in report order (by path), each file's entries in file order; the answer
/// has the same shape (`None`: a copy or a replay of a response counted elsewhere).
pub(crate) fn counted(files: &[&[Entry]]) -> Vec<Vec<Option<Counted>>> {
    let mut order: Vec<(usize, usize)> =
        files.iter().enumerate().flat_map(|(f, entries)| (0..entries.len()).map(move |e| (f, e))).collect();
    order.sort_unstable_by_key(|&(f, e)| {
        let entry = &files[f][e];
        counting_order(entry.detached, f, entry.place as usize)
    });
    // Per message id: the responses counted so far, as the rule compares them, and which group each is.
    let mut index: HashMap<u64, Vec<(Candidate, usize)>> = HashMap::with_capacity(order.len());
    let mut groups: Vec<((usize, usize), Counted)> = Vec::new();
    for (f, e) in order {
        let entry = &files[f][e];
        let me = Candidate { request: entry.key.request, sidechain: entry.sidechain, at_ms: entry.at_ms };
        let earlier = index.entry(entry.key.message).or_default();
        match judge(earlier.iter().copied(), me) {
            Seen::New => {
                earlier.push((me, groups.len()));
                groups.push(((f, e), Counted { reading: (f, e), incomplete: entry.incomplete }));
            }
            Seen::Same(group) => {
                let counted = &mut groups[group].1;
                counted.incomplete &= entry.incomplete;
                let (rf, re) = counted.reading;
                if entry.rank().replaces(files[rf][re].rank()) {
                    counted.reading = (f, e);
                    // The response now has this reading's time, as the hook's superseding record does.
                    if let Some(stored) = earlier.iter_mut().find(|(_, g)| *g == group) {
                        stored.0.at_ms = entry.at_ms;
                    }
                }
            }
            Seen::Replay => {}
        }
    }
    let mut counted: Vec<Vec<Option<Counted>>> = files.iter().map(|entries| vec![None; entries.len()]).collect();
    for ((f, e), group) in groups {
        counted[f][e] = Some(group);
    }
    counted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::Part;
    use crate::transcript::ResponseKey;
    use crate::usage::{Pico, Usage};

    fn entry(message: u64, request: u64, place: u32) -> Entry {
        Entry {
            key: ResponseKey { message, request },
            at_ms: 1_790_000_000_000,
            main: Part { model: 0, usage: Usage::default(), cost: Pico(0) },
            advisor: Vec::new(),
            place,
            sidechain: false,
            detached: false,
            incomplete: false,
        }
    }

    fn flags(counted: Vec<Vec<Option<Counted>>>) -> Vec<Vec<bool>> {
        counted.into_iter().map(|file| file.into_iter().map(|c| c.is_some()).collect()).collect()
    }

    #[test]
    fn a_copy_read_first_loses_to_the_file_that_made_it() {
        let copy = Entry { detached: true, ..entry(1, 1, 0) };
        let resumed = [copy, entry(2, 2, 1)];
        let original = [entry(1, 1, 0)];
        assert_eq!(flags(counted(&[&resumed, &original])), [vec![false, true], vec![true]]);
    }

    #[test]
    fn replays_and_reused_ids() {
        let main = [entry(1, 1, 0), entry(2, 2, 1)];
        let replay = Entry { sidechain: true, ..entry(1, 9, 0) };
        let gateway = entry(2, 3, 1);
        assert_eq!(flags(counted(&[&main, &[replay, gateway]])), [vec![true, true], vec![false, true]]);
        // Inside one subagent, a reused message id under two requests is two responses.
        let sub = [Entry { sidechain: true, ..entry(5, 1, 0) }, Entry { sidechain: true, ..entry(5, 2, 1) }];
        assert_eq!(flags(counted(&[&sub])), [vec![true, true]]);
    }

    #[test]
    fn copies_days_apart_are_not_compared_and_the_costliest_copy_counts() {
        let a = entry(1, 1, 0);
        let b = Entry { at_ms: a.at_ms + 3 * 86_400_000, ..a.clone() };
        assert_eq!(flags(counted(&[std::slice::from_ref(&a), &[b]])), [vec![true], vec![true]]);
        let snapshot = Entry { incomplete: true, ..a.clone() };
        let mut full = Entry { detached: true, ..a };
        full.main.cost = Pico(5);
        let c = counted(&[&[snapshot], &[full]]);
        assert_eq!(c[0][0], Some(Counted { reading: (1, 0), incomplete: false }));
        assert_eq!(c[1][0], None);
    }
}
