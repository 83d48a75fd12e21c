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
    /// A file of the session whose hook is running (read on every one of its calls).
    pub own: bool,
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
/// Files that do not exist (yet) are left out; entries that are not files ccbreaker may read are named in
/// `skipped`.
pub(crate) fn session_files(transcript: &Path, skipped: &mut Vec<String>) -> Vec<(PathBuf, Stat)> {
    let mut files = Vec::new();
    if let Ok(meta) = fs::metadata(transcript)
        && meta.is_file()
    {
        files.push((transcript.to_path_buf(), Stat::of(&meta)));
    }
    collect_jsonl(&subagents_dir(transcript), &mut files, 0, skipped);
    files
}

fn collect_jsonl(dir: &Path, out: &mut Vec<(PathBuf, Stat)>, depth: usize, skipped: &mut Vec<String>) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if entry.file_name() != "tool-results" {
                collect_jsonl(&path, out, depth + 1, skipped);
            }
        } else if is_jsonl(&path) {
            match may_read(&entry, kind) {
                Ok(meta) => out.push((path, Stat::of(&meta))),
                Err(why) => skipped.push(format!("skipped `{}`: {why}", path.display())),
            }
        }
    }
}

/// A directory entry's metadata if it is a file ccbreaker may read: a regular file, or a symlink that resolves to
/// one outside the kernel's file systems (`/proc`, `/sys`, `/dev`); else why not. Read relative to the open
/// directory, which saves resolving the whole path again for every file. (Sparse files and files that grew
/// implausibly are judged when they are read.)
pub(crate) fn may_read(entry: &fs::DirEntry, kind: fs::FileType) -> Result<fs::Metadata, &'static str> {
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

/// Every transcript under `roots` modified at or after `since`:
/// `<root>/<project>/<session>.jsonl`, `<root>/<project>/<session>/subagents/**/*.jsonl` and legacy
/// `<root>/<project>/agent-*.jsonl`.
pub(crate) fn changed_since(roots: &[PathBuf], since: SystemTime, skipped: &mut Vec<String>) -> Vec<Found> {
    let mut found = Vec::new();
    for entry in project_entries(roots) {
        entry.files(since, &mut found, skipped);
    }
    found
}

/// Every transcript under `roots`, as [`changed_since`] finds them, with the files' `stat`s (one system call
/// each, the bulk of the work) spread over `threads` threads.
pub(crate) fn all(roots: &[PathBuf], threads: usize) -> Vec<Found> {
    let entries = project_entries(roots);
    let threads = threads.clamp(1, entries.len().max(1));
    if threads == 1 {
        return changed_since(roots, SystemTime::UNIX_EPOCH, &mut Vec::new());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    while let Some(entry) = entries.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        entry.files(SystemTime::UNIX_EPOCH, &mut found, &mut Vec::new());
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
    fn files(&self, since: SystemTime, found: &mut Vec<Found>, skipped: &mut Vec<String>) {
        let entry = &self.entry;
        let project = || self.project.to_string();
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { return };
        if kind.is_dir() {
            let session = entry.file_name().to_string_lossy().into_owned();
            let mut files = Vec::new();
            collect_jsonl(&path.join("subagents"), &mut files, 0, skipped);
            for (path, stat) in files.into_iter().filter(|(_, stat)| stat.modified >= since) {
                found.push(Found { path, session: Some(session.clone()), project: project(), stat, own: false });
            }
        } else if is_jsonl(&path) {
            let meta = match may_read(entry, kind) {
                Ok(meta) => meta,
                Err(why) => return skipped.push(format!("skipped `{}`: {why}", path.display())),
            };
            let stat = Stat::of(&meta);
            if stat.modified >= since {
                found.push(Found { session: session_of_transcript(&path), path, project: project(), stat, own: false });
            }
        }
    }
}
