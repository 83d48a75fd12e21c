//! Gathering an audit's facts: the report's walk and cache first ([`collect_with`]), reading each changed file once
//! for both the report's summary and the audit's [`Thread`]; then the files the audit needs that the cache
//! answered for the report, read for their facts only; then the report's duplicate rule, so that a copied
//! response is audited once, where the report counts it.

use super::facts::{Extract, Thread};
use crate::pricing::PriceTable;
use crate::report::collect::{self, Collected, Sources, collect_with, summarize};
use crate::report::dedupe;
use crate::report::summary::{Entry, FileSummary};
use crate::sync::price_response;
use crate::transcript::discover::Found;
use crate::transcript::tail;
use crate::usage::Pico;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What an audit works on.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    /// The report's view: every file's counted spend (all of history, for baselines and charts).
    pub collected: Collected,
    /// The files the audit looked into, in the report's order (by path).
    pub threads: Vec<Thread>,
    /// Files that could not be read.
    pub notes: Vec<String>,
    /// Files read for the audit's facts alone (the report cache had their summary).
    pub read_for_facts: usize,
}

/// Gathers the facts of every file `wanted` says the audit needs (from its report summary).
pub(crate) fn gather(sources: &Sources, wanted: &(dyn Fn(&FileSummary) -> bool + Sync)) -> Gathered {
    let stash: Mutex<HashMap<PathBuf, Thread>> = Mutex::new(HashMap::new());
    let reader = |found: &Found, prices: &PriceTable| -> Result<Option<FileSummary>, String> {
        let Some((thread, Some(summary))) = read(found, prices, true)? else { return Ok(None) };
        if wanted(&summary) {
            stash.lock().expect("the audit's stash").insert(found.path.clone(), thread);
        }
        Ok(Some(summary))
    };
    let collected = collect_with(sources, &reader);
    let mut stash = stash.into_inner().expect("the audit's stash");
    // Files the report cache answered for: read now, for their facts.
    let missing: Vec<&FileSummary> =
        collected.files.iter().filter(|f| wanted(f) && !stash.contains_key(Path::new(&f.path))).collect();
    let mut notes = Vec::new();
    let read_for_facts = missing.len();
    // Largest first, so that one big file does not end the run alone on one core.
    let mut missing = missing;
    missing.sort_by_key(|f| std::cmp::Reverse(f.identity.size));
    for (file, result) in missing.iter().zip(parallel(&missing, |file| read(&found_of(file), sources.prices, false))) {
        match result {
            Ok(Some((thread, _))) => {
                stash.insert(PathBuf::from(&file.path), thread);
            }
            Ok(None) => {}
            Err(note) => notes.push(note),
        }
    }
    let mut threads: Vec<Thread> = Vec::with_capacity(stash.len());
    let mut entries: Vec<Vec<Entry>> = Vec::with_capacity(collected.files.len());
    let mut owner: Vec<Option<usize>> = Vec::with_capacity(collected.files.len());
    for file in &collected.files {
        match stash.remove(Path::new(&file.path)) {
            Some(mut thread) => {
                // The report's summary names the session (from the lines when the path does not).
                thread.session.clone_from(&file.session);
                thread.project.clone_from(&file.project);
                entries.push(thread.requests.iter().enumerate().map(|(place, r)| entry(r, place)).collect());
                owner.push(Some(threads.len()));
                threads.push(thread);
            }
            None => {
                entries.push(file.entries.clone());
                owner.push(None);
            }
        }
    }
    let slices: Vec<&[Entry]> = entries.iter().map(Vec::as_slice).collect();
    for (flags, owner) in dedupe::counted(&slices).into_iter().zip(owner) {
        if let Some(i) = owner {
            for (request, counted) in threads[i].requests.iter_mut().zip(flags) {
                request.counted = counted;
            }
        }
    }
    let threads = threads.into_iter().flat_map(Thread::split).collect();
    Gathered { collected, threads, notes, read_for_facts }
}

/// A request as the duplicate rule sees it (what [`FileSummary::with_responses`] makes of a response).
fn entry(r: &super::facts::Request, place: usize) -> Entry {
    Entry {
        key: r.key,
        at_ms: r.at_ms,
        usage: r.usage,
        cost: r.cost,
        model: r.model,
        place: place as u32,
        sidechain: r.sidechain,
        detached: r.detached,
    }
}

/// The `Found` a summary was made from (what reading needs of it).
fn found_of(file: &FileSummary) -> Found {
    Found {
        path: PathBuf::from(&file.path),
        session: Some(file.session.clone()),
        project: file.project.clone(),
        stat: tail::Stat { id: Default::default(), size: file.identity.size, modified: std::time::UNIX_EPOCH },
        own: false,
    }
}

/// One file read whole: its audit facts and (with `summary`) the report's summary of it, from one pass over its
/// lines.
fn read(found: &Found, prices: &PriceTable, summary: bool) -> Result<Option<(Thread, Option<FileSummary>)>, String> {
    let could_not = |err: std::io::Error| format!("could not read `{}`: {err}", found.path.display());
    let (mut file, stat) = match tail::open(&found.path) {
        Ok(opened) => opened,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(could_not(err)),
    };
    let compaction = found.path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("agent-acompact-"));
    let mut extract = Extract::new(collect::is_subagent(&found.path), compaction);
    let tail = tail::read_lines(&mut file, 0, |line| extract.line(line)).map_err(could_not)?;
    let (mut thread, mut folded) = extract.finish(|r| price_response(prices, r).cost);
    folded.tail = tail;
    thread.path = found.path.to_string_lossy().into_owned();
    thread.subagent = collect::is_subagent(&found.path);
    if !summary {
        // The caller has the report's summary: it names the session.
        return Ok(Some((thread, None)));
    }
    let costs: Vec<Pico> = thread.requests.iter().map(|r| r.cost).collect();
    let summary = summarize(found, &stat, &folded, &costs);
    thread.session.clone_from(&summary.session);
    thread.project.clone_from(&summary.project);
    Ok(Some((thread, Some(summary))))
}

/// `f` over `items` on every core (as reports read), results in the order of `items`.
pub(crate) fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = collect::threads().min(items.len()).max(1);
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
        workers.into_iter().flat_map(|w| w.join().expect("an audit reader panicked")).collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
