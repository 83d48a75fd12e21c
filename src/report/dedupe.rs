//! De-duplication for reports: the hook's rule ([`keys::judge`]) in the hook's order
//! ([`account::counting_order`]), with an in-memory index in place of the on-disk key logs. Like the key logs,
//! the index holds one UTC day per response: copies keep their original's timestamp, so they always meet it.

use super::summary::Entry;
use crate::ledger::account::counting_order;
use crate::ledger::keys::{Seen, judge};
use std::collections::HashMap;

/// Which entries count: `files` in report order (by path), each file's entries in file order; the answer has
/// the same shape.
pub(crate) fn counted(files: &[&[Entry]]) -> Vec<Vec<bool>> {
    let mut order: Vec<(usize, usize)> =
        files.iter().enumerate().flat_map(|(f, entries)| (0..entries.len()).map(move |e| (f, e))).collect();
    order.sort_unstable_by_key(|&(f, e)| {
        let entry = &files[f][e];
        counting_order(entry.detached, f, entry.place as usize)
    });
    let mut index: HashMap<(i64, u64), Vec<(u64, bool)>> = HashMap::with_capacity(order.len());
    let mut counted: Vec<Vec<bool>> = files.iter().map(|entries| vec![false; entries.len()]).collect();
    for (f, e) in order {
        let entry = &files[f][e];
        let earlier = index.entry((entry.utc_day(), entry.key.message)).or_default();
        if judge(earlier.iter().copied(), entry.key.request, entry.sidechain) == Seen::New {
            earlier.push((entry.key.request, entry.sidechain));
            counted[f][e] = true;
        }
    }
    counted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::ResponseKey;
    use crate::usage::{Pico, Usage};

    fn entry(message: u64, request: u64, place: u32) -> Entry {
        Entry {
            key: ResponseKey { message, request },
            at_ms: 1_790_000_000_000,
            usage: Usage::default(),
            cost: Pico(0),
            model: 0,
            place,
            sidechain: false,
            detached: false,
        }
    }

    #[test]
    fn a_copy_read_first_loses_to_the_file_that_made_it() {
        let copy = Entry { detached: true, ..entry(1, 1, 0) };
        let resumed = [copy, entry(2, 2, 1)];
        let original = [entry(1, 1, 0)];
        assert_eq!(counted(&[&resumed, &original]), [vec![false, true], vec![true]]);
    }

    #[test]
    fn replays_and_reused_ids() {
        let main = [entry(1, 1, 0), entry(2, 2, 1)];
        let replay = Entry { sidechain: true, ..entry(1, 9, 0) };
        let gateway = entry(2, 3, 1);
        assert_eq!(counted(&[&main, &[replay, gateway]]), [vec![true, true], vec![false, true]]);
    }

    #[test]
    fn copies_on_another_utc_day_are_not_compared() {
        let a = entry(1, 1, 0);
        let b = Entry { at_ms: a.at_ms + 86_400_000, ..a };
        assert_eq!(counted(&[&[a], &[b]]), [vec![true], vec![true]]);
    }
}
