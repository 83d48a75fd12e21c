//! Finding transcripts: a session's own files (main transcript plus its subagents'), and every `*.jsonl` below
//! the roots at any depth, for sessions that never run the hook and for reports. Claude Code writes
//! `<root>/<project>/<session>.jsonl` and `<root>/<project>/<session>/subagents/**/*.jsonl`; users also copy
//! archived or exported transcripts into other folders, and those count too (as ccusage counts them), their
//! session taken from their lines' `sessionId`. Every directory entry goes through [`transcript_entry`], the one
//! place that decides which files are read.

use super::tail::Stat;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::{Instant, SystemTime};

/// A transcript file and the session it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub path: PathBuf,
    /// The session its place names; `None` where the place names none (a legacy `agent-*.jsonl` beside the
    /// session files, a transcript filed in another folder): its lines name the session.
    pub session: Option<String>,
    pub project: String,
    pub stat: Stat,
    /// A file of the session whose hook is running (read on every one of its calls).
    pub own: bool,
}

/// How deep below a root directories are walked.
const MAX_DEPTH: usize = 32;

/// Entries a bounded walk finishes before its deadline can stop it.
const MIN_ENTRIES: u64 = 1024;

/// How far a walk may go: until `deadline` (a hook call's time), picking up after `resume` (where an earlier walk
/// stopped, in the walk's order: roots, then names sorted, depth first). A walk that stops says where in `stopped`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bound {
    pub deadline: Option<Instant>,
    pub resume: Option<PathBuf>,
    /// The last entry the walk finished before its time ran out; `None`: it went to the end.
    pub stopped: Option<PathBuf>,
    /// Entries finished in this walk (for the note).
    pub visited: u64,
    last: Option<PathBuf>,
    /// Tests: stop after this many entries, as if the time were up.
    #[cfg(test)]
    entries: Option<u64>,
}

impl Bound {
    pub(crate) fn until(deadline: Option<Instant>, resume: Option<PathBuf>) -> Bound {
        Bound { deadline, resume, ..Bound::default() }
    }

    /// Whether `path` was finished by the walk this one resumes: it is the resume point (the last entry finished) or
    /// below it, or comes before it in the walk's order and is not a directory on the way to it.
    fn done_before(&self, path: &Path) -> bool {
        self.resume
            .as_deref()
            .is_some_and(|resume| path.starts_with(resume) || (path < resume && !resume.starts_with(path)))
    }

    fn out_of_time(&mut self) -> bool {
        #[cfg(test)]
        let late = self.entries.is_some_and(|n| self.visited >= n);
        #[cfg(not(test))]
        let late = false;
        // A walk always does some work (MIN_ENTRIES entries, a few milliseconds), so that walks that resume always get
        // further, however slow the machine.
        let due = self.visited >= MIN_ENTRIES && self.deadline.is_some_and(|d| Instant::now() >= d);
        if self.stopped.is_none() && (late || due) {
            // Nothing finished this time: go on from the same place next time, never from the start.
            self.stopped = Some(self.last.clone().or_else(|| self.resume.clone()).unwrap_or_default());
        }
        self.stopped.is_some()
    }

    fn finished(&mut self, path: &Path) {
        self.visited += 1;
        if self.deadline.is_some() {
            self.last = Some(path.to_path_buf());
        }
    }
}

/// `<dir>/<session>.jsonl` -> `<dir>/<session>/subagents`.
pub(crate) fn subagents_dir(transcript: &Path) -> PathBuf {
    transcript.with_extension("").join("subagents")
}

/// The session id a main transcript's file name gives.
pub(crate) fn session_of_transcript(transcript: &Path) -> Option<String> {
    let stem = transcript.file_stem()?.to_str()?;
    (!stem.is_empty() && !stem.starts_with("agent-")).then(|| stem.to_owned())
}

/// The project a transcript sits in: the name of its `projects/<project>` directory.
pub(crate) fn project_of_transcript(transcript: &Path) -> String {
    transcript.parent().and_then(Path::file_name).map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Whether a directory entry is a transcript ccbreaker may read, and its metadata: `None` if it is not a `*.jsonl`
/// file name; else its metadata if it is a regular file, or a symlink that resolves to one outside the kernel's
/// file systems (`/proc`, `/sys`, `/dev`), or why not. Every walk asks this of every file it meets. (Sparse files and
/// files that grew implausibly are judged when they are read.)
pub(crate) fn transcript_entry(entry: &fs::DirEntry, kind: fs::FileType) -> Option<Result<fs::Metadata, &'static str>> {
    if !is_jsonl(&entry.path()) {
        return None;
    }
    Some(may_read(entry, kind))
}

fn may_read(entry: &fs::DirEntry, kind: fs::FileType) -> Result<fs::Metadata, &'static str> {
    // Read relative to the open directory, which saves resolving the whole path again for every file.
    let meta = if kind.is_symlink() { fs::metadata(entry.path()) } else { entry.metadata() };
    let meta = meta.map_err(|_| "it cannot be read (a dangling symlink?)")?;
    if !meta.is_file() {
        return Err(if meta.is_dir() {
            "it is a directory"
        } else {
            "it is a FIFO, device or socket, not a regular file"
        });
    }
    if kind.is_symlink()
        && fs::canonicalize(entry.path())
            .is_ok_and(|target| ["/proc", "/sys", "/dev"].iter().any(|kernel| target.starts_with(kernel)))
    {
        return Err("it links to a file of the kernel (/proc, /sys, /dev), not a transcript");
    }
    Ok(meta)
}

fn is_jsonl(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "jsonl")
}

/// The session's transcript and every `.jsonl` below its `subagents/` directory (nested agents included).
/// Files that do not exist (yet) are left out; entries that are not files ccbreaker may read are named in
/// `skipped`.
pub(crate) fn session_files(transcript: &Path, skipped: &mut Vec<String>) -> Vec<(PathBuf, Stat)> {
    let mut files = Vec::new();
    if let Ok(meta) = fs::metadata(transcript)
        && meta.is_file()
    {
        files.push((transcript.to_path_buf(), Stat::of(&meta)));
    }
    walk(&subagents_dir(transcript), SystemTime::UNIX_EPOCH, 0, &mut files, skipped, &mut Bound::default());
    files
}

/// Every transcript below `dir` (at most [`MAX_DEPTH`] levels) modified at or after `since`; entries that are not
/// files ccbreaker may read are named in `skipped`. Directories that are symlinks are not followed (a loop would
/// never end). A bounded walk (with a deadline) goes in name order and stops when its time is up; returns whether it
/// went to the end.
fn walk(
    dir: &Path,
    since: SystemTime,
    depth: usize,
    out: &mut Vec<(PathBuf, Stat)>,
    skipped: &mut Vec<String>,
    bound: &mut Bound,
) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    if bound.out_of_time() {
        return false;
    }
    let Ok(entries) = fs::read_dir(dir) else { return true };
    let mut entries: Vec<fs::DirEntry> = entries.flatten().collect();
    if bound.deadline.is_some() {
        entries.sort_by_cached_key(fs::DirEntry::file_name);
    }
    for entry in entries {
        if bound.out_of_time() {
            return false;
        }
        let path = entry.path();
        if bound.done_before(&path) {
            continue;
        }
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if !walk(&path, since, depth + 1, out, skipped, bound) {
                return false;
            }
        } else {
            take(&entry, kind, since, out, skipped);
        }
        bound.finished(&path);
    }
    true
}

/// Adds the file `entry` to `out` if it is a transcript modified at or after `since`, or its reason to `skipped`.
fn take(
    entry: &fs::DirEntry,
    kind: fs::FileType,
    since: SystemTime,
    out: &mut Vec<(PathBuf, Stat)>,
    skipped: &mut Vec<String>,
) {
    match transcript_entry(entry, kind) {
        None => {}
        Some(Ok(meta)) => {
            let stat = Stat::of(&meta);
            if stat.modified >= since {
                out.push((entry.path(), stat));
            }
        }
        Some(Err(why)) => skipped.push(format!("skipped `{}`: {why}", entry.path().display())),
    }
}

/// Where a file below `root` sits: its project (the first directory below the root) and the session its place
/// names, if any.
fn place(root: &Path, path: &Path) -> (String, Option<String>) {
    let parts: Vec<String> = path
        .strip_prefix(root)
        .unwrap_or(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let project = if parts.len() >= 2 { parts[0].clone() } else { String::new() };
    let session = match parts.as_slice() {
        [_, file] => session_of_transcript(Path::new(file)),
        [_, session, subagents, _, ..] if subagents == "subagents" => Some(session.clone()),
        _ => None,
    };
    (project, session)
}

/// Every transcript under `roots` modified at or after `since`, at any depth, as far as `bound` lets the walk go;
/// entries that are not files ccbreaker may read are named in `skipped`.
pub(crate) fn changed_since(
    roots: &[PathBuf],
    since: SystemTime,
    skipped: &mut Vec<String>,
    bound: &mut Bound,
) -> Vec<Found> {
    let mut found = Vec::new();
    if bound.deadline.is_none() {
        for unit in units(roots) {
            unit.files(since, &mut found, skipped, bound);
        }
        return found;
    }
    // Bounded: each root walked in name order, listing as it goes (listing every project directory first would
    // itself be unbounded), so that the next walk can go on where this one stopped.
    let mut roots = roots.to_vec();
    roots.sort();
    for root in &roots {
        if bound.done_before(root) {
            continue;
        }
        let mut files = Vec::new();
        let whole = walk(root, since, 0, &mut files, skipped, bound);
        for (path, stat) in files {
            let (project, session) = place(root, &path);
            found.push(Found { path, session, project, stat, own: false });
        }
        if !whole {
            break;
        }
        bound.finished(root);
    }
    found
}

/// Every transcript under `roots`, as [`changed_since`] finds them, with the files' `stat`s (one system call
/// each, the bulk of the work) spread over `threads` threads.
pub(crate) fn all(roots: &[PathBuf], threads: usize) -> Vec<Found> {
    let units = units(roots);
    let threads = threads.clamp(1, units.len().max(1));
    if threads == 1 {
        return changed_since(roots, SystemTime::UNIX_EPOCH, &mut Vec::new(), &mut Bound::default());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    while let Some(unit) = units.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        unit.files(SystemTime::UNIX_EPOCH, &mut found, &mut Vec::new(), &mut Bound::default());
                    }
                    found
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a transcript walker panicked")).collect()
    })
}

/// A piece of a walk: one entry of a project directory (a file, or a directory walked whole), or a file right
/// under a root.
struct Unit<'r> {
    root: &'r Path,
    entry: fs::DirEntry,
    depth: usize,
}

/// The entries of every project directory under `roots`, and the files right under them.
fn units(roots: &[PathBuf]) -> Vec<Unit<'_>> {
    let mut all = Vec::new();
    for root in roots {
        let Ok(entries) = fs::read_dir(root) else { continue };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => {
                    let Ok(inner) = fs::read_dir(entry.path()) else { continue };
                    all.extend(inner.flatten().map(|entry| Unit { root, entry, depth: 2 }));
                }
                Ok(_) => all.push(Unit { root, entry, depth: 1 }),
                Err(_) => {}
            }
        }
    }
    all
}

impl Unit<'_> {
    /// The transcripts this unit holds that were modified at or after `since`; whether the walk went to its end.
    fn files(&self, since: SystemTime, found: &mut Vec<Found>, skipped: &mut Vec<String>, bound: &mut Bound) -> bool {
        let Ok(kind) = self.entry.file_type() else { return true };
        let mut files = Vec::new();
        let whole = if kind.is_dir() {
            walk(&self.entry.path(), since, self.depth, &mut files, skipped, bound)
        } else {
            take(&self.entry, kind, since, &mut files, skipped);
            true
        };
        for (path, stat) in files {
            let (project, session) = place(self.root, &path);
            found.push(Found { path, session, project, stat, own: false });
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jsonl_below_a_root_is_found_with_the_session_its_place_names() {
        let tmp = crate::test_dir::TestDir::new("discover");
        let root = tmp.path().join("projects");
        for file in [
            "p/s1.jsonl",
            "p/s1/subagents/agent-a.jsonl",
            "p/s1/subagents/workflows/w/agent-b.jsonl",
            "p/agent-legacy.jsonl",
            "p/archive/2026/old.jsonl",
            "p/s1/tool-results/x.txt",
            "loose.jsonl",
        ] {
            let path = root.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, b"{}\n").unwrap();
        }
        let mut found: Vec<(String, String, Option<String>)> = all(std::slice::from_ref(&root), 2)
            .into_iter()
            .map(|f| (f.path.strip_prefix(&root).unwrap().display().to_string(), f.project, f.session))
            .collect();
        found.sort();
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(
            found,
            [
                ("loose.jsonl".to_owned(), String::new(), None),
                ("p/agent-legacy.jsonl".to_owned(), "p".to_owned(), None),
                ("p/archive/2026/old.jsonl".to_owned(), "p".to_owned(), None),
                ("p/s1.jsonl".to_owned(), "p".to_owned(), s("s1")),
                ("p/s1/subagents/agent-a.jsonl".to_owned(), "p".to_owned(), s("s1")),
                ("p/s1/subagents/workflows/w/agent-b.jsonl".to_owned(), "p".to_owned(), s("s1")),
            ]
        );
        let mut skipped = Vec::new();
        let mut unbounded = Bound::default();
        assert_eq!(
            changed_since(std::slice::from_ref(&root), SystemTime::UNIX_EPOCH, &mut skipped, &mut unbounded).len(),
            6
        );
        assert_eq!(session_files(&root.join("p/s1.jsonl"), &mut skipped).len(), 3);
        assert!(skipped.is_empty(), "{skipped:?}");
    }

    #[test]
    fn a_bounded_walk_stops_at_its_deadline_and_the_next_one_goes_on_from_there() {
        let tmp = crate::test_dir::TestDir::new("discover-bounded");
        let root = tmp.path().join("projects");
        let mut all_files = Vec::new();
        for p in 0..4 {
            for s in 0..5 {
                let path = root.join(format!("p{p}/d{s}/s.jsonl"));
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, b"{}\n").unwrap();
                all_files.push(path);
            }
        }
        let roots = [root];
        // A deadline already past: a walk still does its least work (fewer entries than that here: all of them).
        let mut bound = Bound::until(Some(Instant::now()), None);
        assert_eq!(changed_since(&roots, SystemTime::UNIX_EPOCH, &mut Vec::new(), &mut bound).len(), 20);
        assert_eq!(bound.stopped, None);
        // Walks that each stop after three entries find every file, across calls, from where the last one stopped.
        let mut seen = Vec::new();
        let mut resume: Option<PathBuf> = None;
        for _ in 0..100 {
            let far = Instant::now() + std::time::Duration::from_secs(60);
            let mut bound = Bound { entries: Some(3), ..Bound::until(Some(far), resume.clone()) };
            let found = changed_since(&roots, SystemTime::UNIX_EPOCH, &mut Vec::new(), &mut bound);
            seen.extend(found.into_iter().map(|f| f.path));
            resume = bound.stopped.clone();
            if resume.is_none() {
                break;
            }
        }
        seen.sort();
        seen.dedup();
        all_files.sort();
        assert_eq!(seen, all_files);
    }
}
