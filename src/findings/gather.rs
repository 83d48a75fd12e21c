//! Gathering an audit's facts: the report's walk and cache first ([`collect_with`]), reading each changed file once
//! for both the report's summary and the audit's [`Thread`]; then the files the audit needs that the cache
//! answered for the report, read for their facts only; then the report's duplicate rule, so that a copied
//! response is audited once, where the report counts it.

use super::facts::{Extract, Thread};
use crate::pricing::PriceTable;
use crate::report::collect::{self, Collected, Sources, collect_with, summarize};
use crate::report::dedupe;
use crate::report::summary::{Entry, FileSummary};
use crate::transcript::discover::Found;
use crate::transcript::tail;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    let stash: Mutex<HashMap<PathBuf, (Thread, Vec<Entry>)>> = Mutex::new(HashMap::new());
    let reader = |found: &Found, prices: &PriceTable| -> collect::Read {
        let Some((thread, entries, summary)) = read(found, prices)? else { return Ok(None) };
        if wanted(&summary.0) {
            stash.lock().expect("the audit's stash").insert(found.path.clone(), (thread, entries));
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
    for (file, result) in missing.iter().zip(collect::parallel(&missing, |file| read(&found_of(file), sources.prices)))
    {
        match result {
            Ok(Some((thread, entries, _))) => {
                stash.insert(PathBuf::from(&file.path), (thread, entries));
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
            Some((mut thread, responses)) => {
                // The report's summary names the session (from the lines when the path does not).
                thread.session.clone_from(&file.session);
                thread.project.clone_from(&file.project);
                entries.push(responses);
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
                request.counted = counted.is_some();
            }
        }
    }
    let threads = threads.into_iter().flat_map(Thread::split).collect();
    Gathered { collected, threads, notes, read_for_facts }
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

/// What one file read whole gives, from one pass over its lines: its audit facts, its responses as the duplicate
/// rule sees them (one [`Entry`] per request, in order), and the report's summary of it with its notes.
type FileRead = (Thread, Vec<Entry>, (FileSummary, Vec<String>));

fn read(found: &Found, prices: &PriceTable) -> Result<Option<FileRead>, String> {
    let Some((mut file, stat)) = collect::open(found)? else { return Ok(None) };
    let compaction = found.path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("agent-acompact-"));
    let mut extract = Extract::new(collect::is_subagent(&found.path), compaction, prices);
    let tail = tail::read_lines(&mut file, 0, tail::Limit::whole(&stat), |line| extract.line(line))
        .map_err(|err| collect::could_not(found, &err))?;
    let (mut thread, mut folded) = extract.finish();
    folded.tail = tail;
    thread.path = found.path.to_string_lossy().into_owned();
    thread.subagent = collect::is_subagent(&found.path);
    let summary = summarize(found, &stat, &folded, prices);
    // Before the report settles it, the summary holds every response as an entry, in file order.
    let entries = summary.0.entries.clone();
    thread.session.clone_from(&summary.0.session);
    thread.project.clone_from(&summary.0.project);
    Ok(Some((thread, entries, summary)))
}
