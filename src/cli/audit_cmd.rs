//! `ccbreaker audit`: where the money went. Reads every transcript (through the report cache, one pass per changed
//! file for both), finds the waste, prices each finding with the budget's table, and prints a chart and the
//! categories ranked by dollars, or JSON; `--html FILE` also writes a self-contained page.

use super::Io;
use super::args::Args;
use super::report::{Reading, period, reading};
use crate::error::{Error, exit};
use crate::files::{self, Durability};
use crate::findings::{self, Options, gather};
use crate::report::collect::Sources;
use crate::text::Style;
use std::path::PathBuf;

/// Width of the terminal view when stdout is not a terminal.
const DEFAULT_WIDTH: usize = 80;

pub(super) fn audit(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let json = args.flag("--json");
    let html = args.value("--html")?.map(PathBuf::from);
    let (since, until) = period(&mut args)?;
    let session = args.value("--session")?;
    let project = args.value("--project")?;
    args.finish()?;
    let Reading { place, config, prices, roots, cache } = reading(io, "audit")?;
    let options = Options { zone: config.budget.timezone, since, until, session, project };
    super::report::future_since(io, since, options.zone, super::now(&place.env)?)?;
    let started = std::time::Instant::now();
    let sources = Sources { roots: &roots, prices: &prices, cache: cache.as_deref() };
    let gathered = gather::gather(&sources, &|file| options.wants(file));
    if let Some(wanted) = &options.project {
        super::report::known_project(&gathered.collected, wanted)?;
    }
    if io.stderr_is_terminal && started.elapsed().as_secs() >= 1 {
        let stats = &gathered.collected.stats;
        writeln!(
            io.stderr,
            "ccbreaker: read {} of {} transcripts in {:.1} s ({} for the report cache too, {} for the audit alone)",
            stats.read + gathered.read_for_facts,
            stats.files,
            started.elapsed().as_secs_f64(),
            stats.read,
            gathered.read_for_facts,
        )?;
    }
    for note in gathered.collected.notes.iter().chain(&gathered.notes) {
        writeln!(io.stderr, "ccbreaker: note: {note}")?;
    }
    if let Some(id) = &options.session
        && !gathered.collected.files.iter().any(|f| f.session == *id)
    {
        return Err(Error::Failed(format!("no transcript of session `{id}` in {}", list(&roots))));
    }
    let audit = findings::analyze(&gathered, &prices, &options);
    if let Some(path) = &html {
        let nonce = format!(
            "{:016x}",
            crate::transcript::line::hash(format!("{:?} {} {}", started, std::process::id(), audit.total.0).as_bytes())
        );
        let page = findings::html::render(&audit, env!("CARGO_PKG_VERSION"), &nonce);
        let like = std::fs::metadata(path).ok();
        files::write_atomic(path, page.as_bytes(), Durability::Synced, like.as_ref())
            .map_err(Error::file("write the audit page", path))?;
        writeln!(io.stderr, "ccbreaker: wrote the audit page to {}", path.display())?;
    }
    if json {
        let text = serde_json::to_string_pretty(&findings::json::json(&audit)).expect("an audit serialises");
        writeln!(io.stdout, "{text}")?;
    } else {
        let width = if io.stdout_is_terminal {
            terminal_size::terminal_size_of(std::io::stdout()).map_or(DEFAULT_WIDTH, |(w, _)| usize::from(w.0))
        } else {
            DEFAULT_WIDTH
        };
        let style = Style::new(io.stdout_is_terminal, io.env.no_color);
        write!(io.stdout, "{}", findings::terminal::render(&audit, width, style))?;
    }
    Ok(exit::OK)
}

/// The transcript directories that exist, for a message (all of them, if none does).
fn list(roots: &[PathBuf]) -> String {
    let existing: Vec<&PathBuf> = roots.iter().filter(|r| r.is_dir()).collect();
    let shown = if existing.is_empty() { roots.iter().collect() } else { existing };
    if shown.is_empty() {
        return "no transcript directory".to_owned();
    }
    shown.iter().map(|r| format!("`{}`", r.display())).collect::<Vec<_>>().join(", ")
}
