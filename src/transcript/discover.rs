//! Finding transcripts: a session's own files (main transcript plus its subagents'), and every transcript under
//! the roots that changed since a given time, for sessions that never run the hook.

use super::tail::Stat;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A transcript file and the session it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub path: PathBuf,
    /// `None` for a legacy `agent-*.jsonl` beside the session files: its lines name the session.
    pub session: Option<String>,
    pub project: String,
    pub stat: Stat,
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

/// The session's transcript and every `.jsonl` below its `subagents/` directory (nested agents included).
/// Files that do not exist (yet) are left out.
pub(crate) fn session_files(transcript: &Path) -> Vec<(PathBuf, Stat)> {
    let mut files = Vec::new();
    if let Ok(meta) = fs::metadata(transcript)
        && meta.is_file()
    {
        files.push((transcript.to_path_buf(), Stat::of(&meta)));
    }
    collect_jsonl(&subagents_dir(transcript), &mut files, 0);
    files
}

fn collect_jsonl(dir: &Path, out: &mut Vec<(PathBuf, Stat)>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if entry.file_name() != "tool-results" {
                collect_jsonl(&path, out, depth + 1);
            }
        } else if is_jsonl(&path)
            && let Some(meta) = file_metadata(&entry, kind)
        {
            out.push((path, Stat::of(&meta)));
        }
    }
}

/// A directory entry's metadata if it is a regular file (following a symlink): read relative to the open
/// directory, which saves resolving the whole path again for every file.
fn file_metadata(entry: &fs::DirEntry, kind: fs::FileType) -> Option<fs::Metadata> {
    let meta = if kind.is_symlink() { fs::metadata(entry.path()) } else { entry.metadata() };
    meta.ok().filter(fs::Metadata::is_file)
}

fn is_jsonl(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "jsonl")
}

/// Every transcript under `roots` modified at or after `since`:
/// `<root>/<project>/<session>.jsonl`, `<root>/<project>/<session>/subagents/**/*.jsonl` and legacy
/// `<root>/<project>/agent-*.jsonl`.
pub(crate) fn changed_since(roots: &[PathBuf], since: SystemTime) -> Vec<Found> {
    let mut found = Vec::new();
    for entry in project_entries(roots) {
        entry.files(since, &mut found);
    }
    found
}

/// Every transcript under `roots`, as [`changed_since`] finds them, with the files' `stat`s (one system call
/// each, the bulk of the work) spread over `threads` threads.
pub(crate) fn all(roots: &[PathBuf], threads: usize) -> Vec<Found> {
    let entries = project_entries(roots);
    let threads = threads.clamp(1, entries.len().max(1));
    if threads == 1 {
        return changed_since(roots, SystemTime::UNIX_EPOCH);
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    while let Some(entry) = entries.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        entry.files(SystemTime::UNIX_EPOCH, &mut found);
                    }
                    found
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a transcript walker panicked")).collect()
    })
}

/// One entry of a project directory: a session's directory (its subagents inside) or a transcript file.
struct ProjectEntry {
    project: std::sync::Arc<str>,
    entry: fs::DirEntry,
}

/// The entries of every project directory under `roots`.
fn project_entries(roots: &[PathBuf]) -> Vec<ProjectEntry> {
    let mut all = Vec::new();
    for root in roots {
        let Ok(projects) = fs::read_dir(root) else { continue };
        for project in projects.flatten() {
            if !project.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(entries) = fs::read_dir(project.path()) else { continue };
            let name: std::sync::Arc<str> = project.file_name().to_string_lossy().into();
            all.extend(entries.flatten().map(|entry| ProjectEntry { project: name.clone(), entry }));
        }
    }
    all
}

impl ProjectEntry {
    /// The transcripts this entry holds that were modified at or after `since`.
    fn files(&self, since: SystemTime, found: &mut Vec<Found>) {
        let entry = &self.entry;
        let project = || self.project.to_string();
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { return };
        if kind.is_dir() {
            let session = entry.file_name().to_string_lossy().into_owned();
            let mut files = Vec::new();
            collect_jsonl(&path.join("subagents"), &mut files, 0);
            for (path, stat) in files.into_iter().filter(|(_, stat)| stat.modified >= since) {
                found.push(Found { path, session: Some(session.clone()), project: project(), stat });
            }
        } else if is_jsonl(&path) {
            let Some(meta) = file_metadata(entry, kind) else { return };
            let stat = Stat::of(&meta);
            if stat.modified >= since {
                found.push(Found { session: session_of_transcript(&path), path, project: project(), stat });
            }
        }
    }
}
