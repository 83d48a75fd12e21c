//! Finding transcripts: a session's own files (main transcript plus its subagents'), and every transcript under
//! the roots that changed since a given time, for sessions that never run the hook.

use super::tail::Stat;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A transcript file and the session it belongs to.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    /// `None` for a legacy `agent-*.jsonl` beside the session files: its lines name the session.
    pub session: Option<String>,
    pub project: String,
    pub stat: Stat,
}

/// `<dir>/<session>.jsonl` -> `<dir>/<session>/subagents`.
pub fn subagents_dir(transcript: &Path) -> PathBuf {
    transcript.with_extension("").join("subagents")
}

/// The session id a main transcript's file name gives.
pub fn session_of_transcript(transcript: &Path) -> Option<String> {
    let stem = transcript.file_stem()?.to_str()?;
    (!stem.is_empty() && !stem.starts_with("agent-")).then(|| stem.to_owned())
}

/// The project a transcript sits in: the name of its `projects/<project>` directory.
pub fn project_of_transcript(transcript: &Path) -> String {
    transcript.parent().and_then(Path::file_name).map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The session's transcript and every `.jsonl` below its `subagents/` directory (nested agents included).
/// Files that do not exist (yet) are left out.
pub fn session_files(transcript: &Path) -> Vec<(PathBuf, Stat)> {
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
            && let Ok(meta) = fs::metadata(&path)
            && meta.is_file()
        {
            out.push((path, Stat::of(&meta)));
        }
    }
}

fn is_jsonl(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "jsonl")
}

/// Every transcript under `roots` modified at or after `since`:
/// `<root>/<project>/<session>.jsonl`, `<root>/<project>/<session>/subagents/**/*.jsonl` and legacy
/// `<root>/<project>/agent-*.jsonl`.
pub fn changed_since(roots: &[PathBuf], since: SystemTime) -> Vec<Found> {
    let mut found = Vec::new();
    for root in roots {
        let Ok(projects) = fs::read_dir(root) else { continue };
        for project in projects.flatten() {
            if project.file_type().is_ok_and(|t| t.is_dir()) {
                scan_project(&project.path(), since, &mut found);
            }
        }
    }
    found
}

fn scan_project(dir: &Path, since: SystemTime, found: &mut Vec<Found>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let project = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            let session = entry.file_name().to_string_lossy().into_owned();
            let mut files = Vec::new();
            collect_jsonl(&path.join("subagents"), &mut files, 0);
            for (path, stat) in files.into_iter().filter(|(_, stat)| stat.modified >= since) {
                found.push(Found { path, session: Some(session.clone()), project: project.clone(), stat });
            }
        } else if is_jsonl(&path) {
            let Ok(meta) = fs::metadata(&path) else { continue };
            let stat = Stat::of(&meta);
            if meta.is_file() && stat.modified >= since {
                found.push(Found { session: session_of_transcript(&path), path, project: project.clone(), stat });
            }
        }
    }
}
