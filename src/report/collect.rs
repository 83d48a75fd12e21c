//! Gathering a report's data: every transcript under the roots, read on every core unless the cache already
//! holds it, turned into per-file summaries, and de-duplicated across files. This is the I/O edge of reports;
//! what it returns is plain data for [`super::rows::build`].

use super::cache::{self, Loaded};
use super::dedupe;
use super::rows::Item;
use super::summary::{Bucket, FileSummary, Identity, merge};
use crate::ledger::account;
use crate::pricing::PriceTable;
use crate::transcript::discover::{self, Found};
use crate::transcript::fold;
use crate::transcript::line::ToolUses;
use crate::transcript::tail;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::UNIX_EPOCH;

/// Where to look, how to price, and where the cache lives (`None`: no cache).
pub(crate) struct Sources<'a> {
    pub roots: &'a [PathBuf],
    pub prices: &'a PriceTable,
    pub cache: Option<&'a Path>,
}

/// Every transcript's summary, and what of its individually kept responses counts.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Sorted by path: the order in which files are judged.
    pub files: Vec<FileSummary>,
    /// Per file (same order): the entries that count, summed like the file's buckets.
    pub counted: Vec<Vec<Bucket>>,
    /// Files that could not be read, and why the cache was not used.
    pub notes: Vec<String>,
    pub stats: Stats,
}

/// What a report cost to gather.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub files: usize,
    /// Files read from disk (the rest came from the cache).
    pub read: usize,
    pub bytes_read: u64,
    pub cache_written: bool,
}

impl Collected {
    /// Every counted bucket with its file's session, project and model name.
    pub(crate) fn items(&self) -> impl Iterator<Item = Item<'_>> {
        self.files.iter().zip(&self.counted).flat_map(|(file, counted)| {
            file.buckets.iter().chain(counted).map(move |b| Item {
                session: &file.session,
                project: &file.project,
                model: &file.models[b.model as usize],
                slot: b.slot,
                spend: super::rows::Spend {
                    usage: b.usage,
                    cost: b.cost,
                    responses: b.responses,
                    incomplete: b.incomplete,
                },
                first_ms: b.first_ms,
                last_ms: b.last_ms,
            })
        })
    }

    /// How many subagent transcripts each session has.
    pub(crate) fn subagents(&self) -> HashMap<&str, u64> {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for file in self.files.iter().filter(|f| f.subagent) {
            *counts.entry(&file.session).or_default() += 1;
        }
        counts
    }
}

/// What identifies the prices and the program a cache was made with.
pub(crate) fn fingerprint(prices: &PriceTable) -> u64 {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
            format!("{} {}", m.len(), modified.as_nanos())
        })
        .unwrap_or_default();
    let text = format!("{} {exe} {prices:?}", env!("CARGO_PKG_VERSION"));
    crate::transcript::line::hash(text.as_bytes())
}

/// Reads one transcript into its summary (see [`Read`]).
pub(crate) type Reader<'a> = dyn Fn(&Found, &PriceTable) -> Read + Sync + 'a;

/// A file read: its summary and the notes of its disagreeing responses; `Ok(None)` if it vanished since it was
/// found; `Err` a note naming it.
pub(crate) type Read = Result<Option<(FileSummary, Vec<String>)>, String>;

/// Finds every transcript under the roots, reads what the cache does not hold, and de-duplicates.
pub(crate) fn collect(sources: &Sources) -> Collected {
    collect_with(sources, &read_file)
}

/// [`collect`], reading each file with `read` (which must return what [`read_file`] would): the audit reads more
/// of each line in the same pass, so that a file is read once for both.
pub(crate) fn collect_with(sources: &Sources, read: &Reader) -> Collected {
    let fingerprint = fingerprint(sources.prices);
    // The cache loads while the roots are walked.
    let (mut found, loaded) = std::thread::scope(|scope| {
        let loading = sources.cache.map(|path| scope.spawn(move || cache::load(path, fingerprint)));
        let found = discover::all(sources.roots, threads());
        (found, loading.map(|l| l.join().expect("the report cache loader panicked")))
    });
    // By bytes: a session's transcript (`<id>.jsonl`) before its subagents (`<id>/subagents/`), as the hook.
    found.sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    found.dedup_by(|a, b| a.path == b.path);
    let mut notes = Vec::new();
    let mut cached: HashMap<String, FileSummary> = match loaded {
        Some(Loaded::Valid(files)) => files.into_iter().map(|f| (f.path.clone(), f)).collect(),
        Some(Loaded::Damaged(why)) => {
            let path = sources.cache.unwrap_or(Path::new(cache::FILE_NAME)).display();
            notes.push(format!("the report cache `{path}` could not be used ({why}); it is made again"));
            HashMap::new()
        }
        // Another version or other prices: the cache is only a shortcut, so it is made again quietly.
        Some(Loaded::Stale | Loaded::Missing) | None => HashMap::new(),
    };
    let cached_count = cached.len();
    // Each found file: its cached summary if the file is unchanged, else `None` (to be read).
    let mut files: Vec<Option<FileSummary>> = found
        .iter()
        .map(|f| {
            let key = f.path.to_string_lossy();
            cached.remove(key.as_ref()).filter(|summary| summary.identity == identity(&f.stat))
        })
        .collect();
    let mut stats = Stats { files: found.len(), ..Stats::default() };
    let stale: Vec<usize> = (0..found.len()).filter(|&i| files[i].is_none()).collect();
    let fresh = read_all(&found, &stale, sources.prices, read, &mut files, &mut notes, &mut stats);
    // A new response sharing a message id with one summed in an unchanged file: read that file again, so the
    // duplicate rule sees both.
    if !fresh.is_empty() {
        let mut is_fresh = vec![false; files.len()];
        for &i in &fresh {
            is_fresh[i] = true;
        }
        let mut owner: HashMap<u64, usize> = HashMap::new();
        for (i, file) in files.iter().enumerate() {
            if let Some(file) = file.as_ref().filter(|_| !is_fresh[i]) {
                owner.extend(file.unique.iter().map(|&hash| (hash, i)));
            }
        }
        let mut again: Vec<usize> = fresh
            .iter()
            .filter_map(|&i| files[i].as_ref())
            .flat_map(|f| f.entries.iter().filter_map(|e| owner.get(&e.key.message).copied()))
            .collect();
        again.sort_unstable();
        again.dedup();
        for &i in &again {
            files[i] = None;
        }
        let reread = read_all(&found, &again, sources.prices, read, &mut files, &mut notes, &mut stats);
        settle(&mut files, fresh.iter().chain(&reread).copied().collect());
    }
    let mut files: Vec<FileSummary> = files.into_iter().flatten().collect();
    if let Some(path) = sources.cache
        && (stats.read > 0 || files.len() != cached_count)
    {
        match cache::save(path, fingerprint, &files) {
            Ok(()) => stats.cache_written = true,
            Err(err) => notes.push(format!("could not write the report cache: {err}")),
        }
    }
    let counted = counted_buckets(&mut files);
    Collected { files, counted, notes, stats }
}

/// The buckets of every file's entries that count, at the reading that counts (another file's copy, when it was
/// the costliest: its model is added to this file's names).
fn counted_buckets(files: &mut [FileSummary]) -> Vec<Vec<Bucket>> {
    let entries: Vec<&[super::summary::Entry]> = files.iter().map(|f| f.entries.as_slice()).collect();
    let judged = dedupe::counted(&entries);
    let mut counted = Vec::with_capacity(files.len());
    for (f, flags) in judged.into_iter().enumerate() {
        let mut buckets = Vec::new();
        for how in flags.into_iter().flatten() {
            let (rf, re) = how.reading;
            let mut entry = files[rf].entries[re].clone();
            entry.incomplete = how.incomplete;
            if rf != f {
                for part in std::iter::once(&mut entry.main).chain(entry.advisor.iter_mut()) {
                    let name = files[rf].models[part.model as usize].clone();
                    part.model = files[f].model_index(&name);
                }
            }
            buckets.extend(entry.buckets());
        }
        counted.push(merge(buckets));
    }
    counted
}

/// Sums the responses of the files just read whose message id appears nowhere else.
fn settle(files: &mut [Option<FileSummary>], fresh: Vec<usize>) {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    for file in files.iter().flatten() {
        for &hash in &file.unique {
            *seen.entry(hash).or_default() += 1;
        }
        for entry in &file.entries {
            *seen.entry(entry.key.message).or_default() += 1;
        }
    }
    for i in fresh {
        if let Some(file) = files[i].as_mut() {
            file.settle(|message| seen.get(&message) == Some(&1));
        }
    }
}

/// Reads `which` of `found` on every core into `files`; returns the indexes that were read.
fn read_all(
    found: &[Found],
    which: &[usize],
    prices: &PriceTable,
    read: &Reader,
    files: &mut [Option<FileSummary>],
    notes: &mut Vec<String>,
    stats: &mut Stats,
) -> Vec<usize> {
    if which.is_empty() {
        return Vec::new();
    }
    // Largest first, so that one big file does not end the run alone on one core.
    let mut order = which.to_vec();
    order.sort_by_key(|&i| std::cmp::Reverse(found[i].stat.size));
    let results = parallel(&order, |&i| read(&found[i], prices));
    let mut read = Vec::with_capacity(results.len());
    for (&i, result) in order.iter().zip(results) {
        match result {
            Ok(Some((summary, disagreements))) => {
                notes.extend(disagreements);
                stats.read += 1;
                stats.bytes_read += summary.identity.size;
                files[i] = Some(summary);
                read.push(i);
            }
            Ok(None) => {}
            Err(note) => notes.push(note),
        }
    }
    read.sort_unstable();
    read
}

/// `f` over `items` on every core (as many threads as [`threads`]), the results in the order of `items`.
pub(crate) fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads().min(items.len()).max(1);
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a transcript reader panicked")).collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// How many threads read transcripts: one per core, at most 8.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
}

/// One file, read whole and priced, with a note for each response whose lines disagree; `Ok(None)` if it vanished
/// since it was found.
pub(crate) fn read_file(found: &Found, prices: &PriceTable) -> Read {
    let Some((mut file, stat)) = open(found)? else { return Ok(None) };
    let folded = fold::read(&mut file, 0, None, ToolUses::Skip, prices, tail::Limit::whole(&stat))
        .map_err(|err| could_not(found, &err))?;
    Ok(Some(summarize(found, &stat, &folded, prices)))
}

/// Opens a file found by the walk for reading whole: `Ok(None)` if it vanished since, `Err` a note naming it (it
/// cannot be read, or is not a file ccbreaker reads).
pub(crate) fn open(found: &Found) -> Result<Option<(std::fs::File, tail::Stat)>, String> {
    match tail::open(&found.path) {
        Ok(opened) => Ok(Some(opened)),
        Err(tail::OpenError::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(tail::OpenError::Io(err)) => Err(could_not(found, &err)),
        Err(tail::OpenError::Refused(why)) => Err(format!("skipped `{}`: {why}", found.path.display())),
    }
}

/// The note for a file that could not be read.
pub(crate) fn could_not(found: &Found, err: &std::io::Error) -> String {
    format!("could not read `{}`: {err}", found.path.display())
}

/// What reports keep of a file whose lines folded into `folded` (priced with `prices`), and a note for each response
/// whose lines disagree.
pub(crate) fn summarize(
    found: &Found,
    stat: &tail::Stat,
    folded: &fold::Folded,
    prices: &PriceTable,
) -> (FileSummary, Vec<String>) {
    let summary = FileSummary {
        path: found.path.to_string_lossy().into_owned(),
        identity: identity(stat),
        session: account::session_of(found, None, &folded.responses),
        project: found.project.clone(),
        subagent: is_subagent(&found.path),
        malformed: folded.malformed,
        ..FileSummary::default()
    };
    let notes = folded.responses.iter().filter_map(|r| r.disagreement.as_deref());
    let notes: Vec<String> = notes.map(|note| format!("`{}`: {note}", found.path.display())).collect();
    (summary.with_responses(&folded.responses, prices), notes)
}

pub(crate) fn identity(stat: &tail::Stat) -> Identity {
    let modified_ns = stat
        .modified
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or_else(|e| -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX));
    Identity { dev: stat.id.dev, ino: stat.id.ino, size: stat.size, modified_ns }
}

/// A subagent's transcript: under a session's `subagents/` directory, or a legacy `agent-*.jsonl`.
pub(crate) fn is_subagent(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "subagents")
        || path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("agent-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rows::Spend;

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }

    fn totals(collected: &Collected) -> (Spend, usize) {
        let mut total = Spend::default();
        let mut items = 0;
        for item in collected.items() {
            total.usage.add(&item.spend.usage);
            total.cost += item.spend.cost;
            total.responses += item.spend.responses;
            items += 1;
        }
        (total, items)
    }

    #[test]
    fn the_cache_reads_only_what_changed() {
        let tmp = crate::test_dir::TestDir::new("collect");
        let dir = tmp.path();
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-seed30/projects"), &dir.join("p"));
        let roots = [dir.join("p")];
        let prices = PriceTable::builtin();
        let cache = dir.join("cache.bin");
        let sources = Sources { roots: &roots, prices: &prices, cache: Some(&cache) };

        let cold = collect(&sources);
        assert_eq!((cold.stats.files, cold.stats.read, cold.stats.cache_written), (17, 17, true));
        assert_eq!(totals(&cold).0.responses, 734);
        let warm = collect(&sources);
        assert_eq!((warm.stats.read, warm.stats.cache_written), (0, false));
        assert_eq!(totals(&warm), totals(&cold));

        // A copy of one response in a new file: the new file is read, and so is the file whose summary had summed
        // that response, so that the duplicate rule can judge the two.
        let main = dir.join("p/-home-dev-src-api/35c3212d-d3b9-c9d9-a754-ac3e9f3344d5.jsonl");
        let text = std::fs::read_to_string(&main).unwrap();
        let copy = text.lines().filter(|l| l.contains("\"type\":\"assistant\"") && l.contains("\"usage\"")).nth(3);
        std::fs::write(dir.join("p/-home-dev-src-api/resumed.jsonl"), format!("{}\n", copy.unwrap())).unwrap();
        let changed = collect(&sources);
        assert_eq!((changed.stats.files, changed.stats.read), (18, 2));
        assert_eq!(totals(&changed).0, totals(&cold).0, "the copy counts once");
        let again = collect(&sources);
        assert_eq!((again.stats.read, totals(&again).0), (0, totals(&cold).0));

        // A file gone: nothing to read, the cache is rewritten without it.
        std::fs::remove_file(dir.join("p/-home-dev-src-api/resumed.jsonl")).unwrap();
        let removed = collect(&sources);
        assert_eq!((removed.stats.read, removed.stats.cache_written), (0, true));
        let _ = std::fs::remove_dir_all(dir);
    }
}
