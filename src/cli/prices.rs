//! `ccbreaker prices list|update`: the effective price table and where each row comes from, and new prices from
//! LiteLLM's public table (a file, or a URL) without a new release. The hook never fetches anything: an update
//! writes `prices.bin` (see [`crate::place::Place::prices_dir`]), which the hook reads. A URL is read by
//! `ccbreaker-net`, which `ccbreaker prices update` runs for it, so that `ccbreaker` links no HTTP or TLS code.

use super::Io;
use super::args::Args;
use crate::error::{Error, exit};
use crate::pricing::stored::{self, Stored};
use crate::pricing::update::{self, PricesError};
use crate::pricing::{PriceTable, Rates};
use crate::text::{Align, RowKind, Style, Table};
use serde_json::json;

/// Where `prices update` reads by default: LiteLLM's public table.
pub(crate) const DEFAULT_SOURCE: &str =
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";
/// The largest table read (the whole LiteLLM table is about 1.5 MB).
const MAX_TABLE_BYTES: u64 = 64 << 20;

/// Reads at most the given number of bytes from a URL: `ccbreaker-net` passes [`crate::net::fetch`]; `ccbreaker`
/// passes none, and runs `ccbreaker-net` for a URL.
pub(super) type Fetch = fn(&str, u64) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;

pub(super) fn prices(mut args: Args, io: &mut Io, fetch: Option<Fetch>) -> Result<u8, Error> {
    match args.next_word()?.as_deref() {
        Some("list") => {
            let json = args.flag("--json");
            let compact = args.flag("--compact");
            args.finish()?;
            list(json, compact, io)
        }
        Some("update") => {
            let from = args.value("--from")?;
            let force = args.flag("--force");
            let human = args.flag("--i-am-human");
            args.finish()?;
            super::refuse_inside_claude_code(io, "prices update", human)?;
            let source = from.as_deref().unwrap_or(DEFAULT_SOURCE);
            if is_url(source) && fetch.is_none() {
                let mut net: Vec<String> = ["prices", "update", "--from", source].map(str::to_owned).into();
                net.extend(force.then(|| "--force".to_owned()));
                net.extend(human.then(|| "--i-am-human".to_owned()));
                return super::net(io, net);
            }
            update(source, force, io, fetch)
        }
        Some(other) => Err(Error::usage(format!("unknown `prices` command `{other}`: use list or update"))),
        None => Err(Error::usage("`prices` needs a command: list or update")),
    }
}

fn list(json: bool, compact: bool, io: &mut Io) -> Result<u8, Error> {
    let place = super::place(io, "prices list")?;
    let config = super::config(&place, io)?;
    let (table, note) = crate::sync::prices(&config, &place.config_path, &place.prices_dir())?;
    let stored = stored::load(&place.prices_dir()).ok().flatten();
    let rows = table.rows();
    if json {
        let rows: Vec<_> = rows.iter().map(|(name, rates, origin)| row_json(name, rates, origin.as_str())).collect();
        let updated = stored.as_ref().map(|s| json!({"source": s.source, "updated_at": time(s.updated_at)}));
        let out = json!({"models": rows, "updated": updated, "note": note});
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&out).expect("prices serialise"))?;
        return Ok(exit::OK);
    }
    let usd = |pico: u64| format!("{:.2}", pico as f64 / 1e6);
    let mut t = Table::new(&[
        ("Model", Align::Left),
        ("Input", Align::Right),
        ("Output", Align::Right),
        ("5m write", Align::Right),
        ("1h write", Align::Right),
        ("Read", Align::Right),
        ("Long context", Align::Left),
        ("Fast", Align::Right),
        ("US", Align::Right),
        ("Source", Align::Left),
    ]);
    for (name, rates, origin) in &rows {
        let long = match rates.long_context {
            Some(l) => format!(">{}k: {}/{}", l.above_prompt_tokens / 1000, usd(l.input), usd(l.output)),
            None => String::new(),
        };
        t.row(
            RowKind::Body,
            vec![
                name.clone(),
                usd(rates.input),
                usd(rates.output),
                usd(rates.cache_write_5m),
                usd(rates.cache_write_1h),
                usd(rates.cache_read),
                long,
                format!("x{}", rates.fast_multiplier),
                if rates.us_geo_multiplier { "x1.1".to_owned() } else { String::new() },
                origin.as_str().to_owned(),
            ],
        );
    }
    writeln!(io.stdout, "Prices in USD per million tokens\n")?;
    t.droppable("1h write", 1).droppable("5m write", 2).droppable("US", 3).droppable("Fast", 3);
    t.droppable("Long context", 4).shortenable("Source", 12);
    let width = crate::text::Width::of(io.stdout_is_terminal, io.env, compact);
    write!(io.stdout, "{}", t.render_fit(Style::new(false, true), width))?;
    if let Some(stored) = &stored {
        writeln!(io.stdout, "\nupdated from {} at {}", stored.source, time(stored.updated_at))?;
    }
    writeln!(io.stdout, "unknown models: priced as the dearest model of their family, else of all")?;
    if let Some(note) = note {
        writeln!(io.stderr, "ccbreaker: note: {note}")?;
    }
    Ok(exit::OK)
}

fn row_json(name: &str, r: &Rates, source: &str) -> serde_json::Value {
    let usd = |pico: u64| pico as f64 / 1e6;
    json!({
        "model": name,
        "input": usd(r.input),
        "output": usd(r.output),
        "cache_write_5m": usd(r.cache_write_5m),
        "cache_write_1h": usd(r.cache_write_1h),
        "cache_read": usd(r.cache_read),
        "long_context": r.long_context.map(|l| json!({
            "above_prompt_tokens": l.above_prompt_tokens,
            "input": usd(l.input),
            "output": usd(l.output),
            "cache_write_5m": usd(l.cache_write_5m),
            "cache_write_1h": usd(l.cache_write_1h),
            "cache_read": usd(l.cache_read),
            "until": l.until.map(|d| d.to_string()),
        })),
        "fast_multiplier": r.fast_multiplier,
        "us_multiplier": if r.us_geo_multiplier { 1.1 } else { 1.0 },
        "source": source,
    })
}

fn time(unix: i64) -> String {
    crate::text::rfc3339(chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default())
}

fn update(source: &str, force: bool, io: &mut Io, fetch: Option<Fetch>) -> Result<u8, Error> {
    let place = super::place(io, "prices update")?;
    if place.is_locked() {
        crate::locked::require_root("`prices update`", "prices update")?;
    }
    let prices_dir = place.prices_dir();
    let text = read_source(source, fetch)?;
    // A stored table that cannot be read is replaced, not kept: it was not in force either.
    let previous = match stored::load(&prices_dir) {
        Ok(previous) => previous,
        Err(err) => {
            writeln!(io.stderr, "ccbreaker: note: {}", crate::error::report(&err))?;
            None
        }
    };
    let mut current = PriceTable::builtin();
    current.set_updates(previous.as_ref().map(|p| p.rows.clone()).unwrap_or_default());
    let plan = update::plan(&text, source, &current, previous.as_ref().map(|p| p.rows.as_slice()))?;
    let usd = |pico: u64| format!("${:.2}", pico as f64 / 1e6);
    for name in &plan.added {
        writeln!(io.stdout, "new: {name}")?;
    }
    for (name, old, new) in &plan.changed {
        writeln!(
            io.stdout,
            "changed: {name}: input {} -> {}, output {} -> {} per million tokens",
            usd(old.input),
            usd(new.input),
            usd(old.output),
            usd(new.output)
        )?;
    }
    for name in &plan.kept_long_context {
        writeln!(io.stdout, "kept: {name}: the table has no long-context rates; the ones in force stay")?;
    }
    for name in &plan.vanished {
        writeln!(io.stdout, "vanished: {name} is not in the new table (it keeps the price in force)")?;
    }
    for (name, which, before, after) in &plan.drops {
        writeln!(io.stdout, "drop: {name}: {which} {} -> {} per million tokens", usd(*before), usd(*after))?;
    }
    if plan.suspicious() && !force {
        return Err(PricesError::Refused(format!(
            "the table from {source} drops a price by more than half or lacks a model priced now (see above); \
             nothing was written. If it is right, run again with --force"
        ))
        .into());
    }
    let now = super::now(io.env)?;
    let stored =
        Stored { source: source.to_owned(), updated_at: now.timestamp(), rows: plan.rows.into_iter().collect() };
    let path = stored::save(&prices_dir, &stored).map_err(PricesError::from)?;
    if place.is_locked() {
        // Root's, and readable by every user's hook, as the root config is.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .map_err(Error::file("change the mode of", &path))?;
    }
    writeln!(io.stdout, "wrote {} prices from {source} to {}", stored.rows.len(), path.display())?;
    Ok(exit::OK)
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// The bytes of the table at `source`: a URL (read with `fetch`) or a file.
fn read_source(source: &str, fetch: Option<Fetch>) -> Result<Vec<u8>, Error> {
    let fail =
        |error: Box<dyn std::error::Error + Send + Sync>| PricesError::Fetch { source_name: source.to_owned(), error };
    if is_url(source) {
        return match fetch {
            Some(fetch) => Ok(fetch(source, MAX_TABLE_BYTES).map_err(fail)?),
            None => Err(fail(format!("only {} reads a URL", crate::paths::NET_BINARY).into()).into()),
        };
    }
    let meta = std::fs::metadata(source).map_err(|e| fail(Box::new(e)))?;
    if meta.len() > MAX_TABLE_BYTES {
        return Err(fail(format!("it is larger than {MAX_TABLE_BYTES} bytes").into()).into());
    }
    Ok(std::fs::read(source).map_err(|e| fail(Box::new(e)))?)
}
