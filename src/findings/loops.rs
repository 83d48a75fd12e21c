//! Loop detection over one thread's tool calls, pure so that the audit and a loop breaker can share it: the same
//! call (name and normalised input) [`REPEATS`] times within [`WINDOW_MS`] with no file written in between by
//! another call, or two calls alternating A-B-A-B-A-B with nothing else between them.

/// Identical calls that make a loop.
pub(crate) const REPEATS: usize = 5;
/// ... within this time.
pub(crate) const WINDOW_MS: i64 = 10 * 60 * 1000;
/// Calls of a ping-pong: A-B-A-B-A-B, three rounds (two are often a failed pair of calls retried once, which
/// is a retry, not a loop).
pub(crate) const PING_PONG: usize = 6;

/// One call as loop detection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The call's name and normalised input, hashed.
    pub key: u64,
    pub at_ms: i64,
    /// It changes a file: identical calls before and after it are not a loop (the world changed).
    pub writes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Repeat,
    PingPong,
}

/// A loop: the calls in it (indexes into the sequence, in order). The first one (two for a ping-pong) was needed;
/// the rest are the repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loop {
    pub kind: Kind,
    pub calls: Vec<usize>,
}

impl Loop {
    /// The calls after the first round.
    pub(crate) fn repeats(&self) -> &[usize] {
        let first = if self.kind == Kind::PingPong { 2 } else { 1 };
        &self.calls[first.min(self.calls.len())..]
    }
}

/// Every loop in `calls` (one thread's calls, in order). A call belongs to one loop at most; repeats win over
/// ping-pongs.
pub(crate) fn detect(calls: &[Seen]) -> Vec<Loop> {
    detect_with(calls, REPEATS, WINDOW_MS)
}

/// [`detect`] with another count of identical calls and window (the loop breaker's `repeats` and `window_minutes`).
pub(crate) fn detect_with(calls: &[Seen], repeats: usize, window_ms: i64) -> Vec<Loop> {
    let repeats = repeats.max(2);
    let mut loops = Vec::new();
    let mut taken = vec![false; calls.len()];
    // Runs of one key with no other call's write between consecutive occurrences.
    let mut runs: std::collections::HashMap<u64, (usize, Vec<usize>)> = std::collections::HashMap::new();
    let mut writes = 0usize;
    let mut finished: Vec<Vec<usize>> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let run = runs.entry(call.key).or_insert_with(|| (writes, Vec::new()));
        if run.0 != writes {
            finished.push(std::mem::take(&mut run.1));
        }
        run.1.push(i);
        if call.writes {
            writes += 1;
        }
        // Its own write does not break its run.
        run.0 = writes;
    }
    finished.extend(runs.into_values().map(|(_, run)| run));
    for run in finished.into_iter().filter(|r| r.len() >= repeats) {
        let mut marked = vec![false; run.len()];
        for j in 0..=run.len() - repeats {
            if calls[run[j + repeats - 1]].at_ms - calls[run[j]].at_ms <= window_ms {
                marked[j..j + repeats].iter_mut().for_each(|m| *m = true);
            }
        }
        let mut current: Vec<usize> = Vec::new();
        for (j, &i) in run.iter().enumerate().filter(|(j, _)| marked[*j]) {
            if let Some(&last) = current.last()
                && (calls[i].at_ms - calls[last].at_ms > window_ms || !marked[j - 1])
            {
                loops.push(Loop { kind: Kind::Repeat, calls: std::mem::take(&mut current) });
            }
            current.push(i);
        }
        if !current.is_empty() {
            loops.push(Loop { kind: Kind::Repeat, calls: current });
        }
    }
    for l in &loops {
        for &i in &l.calls {
            taken[i] = true;
        }
    }
    let key = |i: usize| calls[i].key;
    let mut i = 0;
    while i + PING_PONG <= calls.len() {
        let free = |j: usize| !taken[j];
        let alternates = |j: usize| key(j) == key(j - 2);
        if key(i) != key(i + 1) && (i + 2..i + PING_PONG).all(alternates) && (i..i + PING_PONG).all(free) {
            let mut end = i + PING_PONG;
            while end < calls.len() && key(end) == key(end - 2) && free(end) {
                end += 1;
            }
            loops.push(Loop { kind: Kind::PingPong, calls: (i..end).collect() });
            i = end;
        } else {
            i += 1;
        }
    }
    loops.sort_by_key(|l| l.calls[0]);
    loops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(keys: &[(u64, i64, bool)]) -> Vec<Seen> {
        keys.iter().map(|&(key, minute, writes)| Seen { key, at_ms: minute * 60_000, writes }).collect()
    }

    #[test]
    fn five_identical_calls_within_ten_minutes_are_a_loop() {
        let calls = seen(&[(1, 0, false), (1, 1, false), (2, 1, false), (1, 2, false), (1, 3, false), (1, 4, false)]);
        let loops = detect(&calls);
        assert_eq!(loops, [Loop { kind: Kind::Repeat, calls: vec![0, 1, 3, 4, 5] }]);
        assert_eq!(loops[0].repeats(), [1, 3, 4, 5]);
        // Four are not; five over more than ten minutes are not.
        assert!(detect(&calls[..5]).is_empty());
        let slow = seen(&[(1, 0, false), (1, 3, false), (1, 6, false), (1, 9, false), (1, 12, false)]);
        assert!(detect(&slow).is_empty());
    }

    #[test]
    fn a_write_in_between_means_the_world_changed() {
        // Run the tests, edit, run the tests...: not a loop.
        let mut keys = Vec::new();
        for minute in 0..6 {
            keys.push((1, minute, false));
            keys.push((100 + minute as u64, minute, true));
        }
        assert!(detect(&seen(&keys)).is_empty());
        // The same edit applied again and again is one (its own write does not count).
        let same_edit = seen(&[(7, 0, true), (7, 1, true), (7, 2, true), (7, 3, true), (7, 4, true)]);
        assert_eq!(detect(&same_edit).len(), 1);
    }

    #[test]
    fn ping_pong() {
        let calls = seen(&[
            (3, 0, false),
            (1, 0, false),
            (2, 1, false),
            (1, 2, false),
            (2, 3, false),
            (1, 4, false),
            (2, 4, false),
            (1, 5, false),
        ]);
        let loops = detect(&calls);
        assert_eq!(loops, [Loop { kind: Kind::PingPong, calls: vec![1, 2, 3, 4, 5, 6, 7] }]);
        assert_eq!(loops[0].repeats(), [3, 4, 5, 6, 7]);
        // Two rounds are a pair of calls tried again: not a loop.
        assert!(detect(&calls[..5]).is_empty());
    }
}
