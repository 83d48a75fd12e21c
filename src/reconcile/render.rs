//! What `reconcile` prints: an aligned table per day and model (with the token classes of what is flagged), the
//! flags, the sessions, the factors and a one-line digest; or all of it as one JSON object (schema in the README).

use super::compare::{Comparison, Pair};
use super::state::Recorded;
use super::{CsvFile, Source};
use crate::correction::Factors;
use crate::text::{Align, RowKind, Style, Table, thousands};
use serde::Serialize;
use std::fmt::Write as _;

/// Everything `reconcile` found, as printed by `--json`.
#[derive(Debug, Serialize)]
pub(crate) struct Output<'a> {
    /// `api` or `subscription`.
    pub billing: &'static str,
    /// What the local figures are: an estimate to compare with the bill, or, for a subscription, an
    /// API-equivalent estimate.
    pub local_is: &'static str,
    pub source: &'a Source,
    #[serde(flatten)]
    pub comparison: &'a Comparison,
    /// The factors measured now (`None` when the range has no complete billed day).
    pub factors: Option<&'a Factors>,
    /// Whether they were written for the budget correction (only when the range ends today or yesterday).
    pub factors_written: bool,
    pub correct_budgets: bool,
    /// A day × model is flagged only from this many USD (`reconcile.min_day_usd`).
    pub min_day_usd: f64,
    /// Flags raised for the first time.
    pub new_flags: &'a [Recorded],
    pub digest: String,
    pub notes: &'a [String],
}

fn money(usd: f64) -> String {
    crate::usage::Pico::from_usd(usd.abs()).to_string()
}

fn signed(usd: f64) -> String {
    if usd < 0.0 { format!("-{}", money(usd)) } else { format!("+{}", money(usd)) }
}

fn cells(p: &Pair) -> [String; 4] {
    [
        money(p.local_usd),
        p.billed_usd.map_or_else(|| "-".to_owned(), money),
        p.ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x")),
        p.diff_usd.map_or_else(|| "-".to_owned(), signed),
    ]
}

/// The digest line: the period, the totals, and what is flagged (new flags first).
pub(crate) fn digest(out: &Output) -> String {
    let c = out.comparison;
    let mut line = format!("reconcile {}..{}: ", c.first, c.last);
    match c.totals.billed_usd {
        Some(billed) if out.billing == "api" => {
            let _ = write!(line, "estimated {}, billed {}", money(c.totals.local_usd), money(billed));
            if let Some(r) = c.totals.ratio {
                let _ = write!(line, " ({r:.2}x, {})", signed(c.totals.diff_usd.unwrap_or(0.0)));
            }
        }
        _ => {
            let _ = write!(line, "{} {}", money(c.totals.local_usd), out.local_is);
        }
    }
    let flagged: Vec<String> = c
        .flags
        .iter()
        .filter(|f| f.kind != "session")
        .map(|f| {
            let what = [f.date.map(|d| d.to_string()), f.model.clone()].into_iter().flatten().collect::<Vec<_>>();
            let what = if f.model.is_none() { format!("{} (day)", what.join(" ")) } else { what.join(" ") };
            match (f.kind, f.ratio) {
                ("overhead", _) => format!("{what} overhead step"),
                (_, Some(r)) => format!("{what} {r:.2}x"),
                _ => format!("{what} billed without local usage"),
            }
        })
        .collect();
    if flagged.is_empty() {
        line.push_str("; nothing flagged");
    } else {
        let _ = write!(line, "; {} flagged", flagged.len());
        let new = out.new_flags.iter().filter(|f| f.kind != "session").count();
        if new > 0 {
            let _ = write!(line, " ({new} new)");
        }
        let shown: Vec<&String> = flagged.iter().take(5).collect();
        let more = flagged.len().saturating_sub(shown.len());
        let _ = write!(line, ": {}", shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
        if more > 0 {
            let _ = write!(line, ", and {more} more");
        }
    }
    let sessions = c.flags.iter().filter(|f| f.kind == "session").count();
    if sessions > 0 {
        let _ = write!(line, "; {sessions} session{} over {:.2}x", if sessions == 1 { "" } else { "s" }, c.alert_ratio);
    }
    line
}

pub(crate) fn json(out: &Output) -> String {
    serde_json::to_string_pretty(out).expect("the reconciliation serialises")
}

pub(crate) fn text(out: &Output, style: Style) -> String {
    let c = out.comparison;
    let mut s = String::new();
    let _ = writeln!(s, "ccbreaker reconcile {} to {} (UTC days)", c.first, c.last);
    let _ = writeln!(s, "{}", source_line(out));
    if out.billing == "subscription" {
        let _ = writeln!(
            s,
            "billing: subscription. A Claude Pro or Max plan has no per-token bill, so there is nothing to reconcile: \
             the figures below are an API-equivalent estimate (what this usage would cost at API list prices). The \
             budgets (budget.session_usd, budget.daily_usd) limit usage in these API-equivalent dollars."
        );
    } else if c.billed_usd_estimated {
        let _ = writeln!(s, "billed USD: estimated from the billed tokens at list prices (this bill has no dollars)");
    }
    let billed_header = if out.billing == "subscription" { "-" } else { "Billed" };
    let mut table = Table::new(&[
        ("Date", Align::Left),
        ("Model", Align::Left),
        ("Estimated", Align::Right),
        (billed_header, Align::Right),
        ("Ratio", Align::Right),
        ("Diff", Align::Right),
        ("", Align::Left),
    ]);
    for day in &c.days {
        let [l, b, r, d] = cells(&day.pair);
        let mark = if day.flagged {
            "!"
        } else if !day.billed && out.billing == "api" {
            "not in the bill"
        } else {
            ""
        };
        table.row(RowKind::Body, vec![day.date.to_string(), "all models".to_owned(), l, b, r, d, mark.to_owned()]);
        for m in &day.models {
            let [l, b, r, d] = cells(&m.pair);
            table.row(RowKind::Detail, vec![String::new(), m.model.clone(), l, b, r, d, flag_mark(m.flagged)]);
            if m.flagged {
                for class in &m.classes {
                    let tokens = match (class.billed_tokens, class.token_ratio) {
                        (Some(b), Some(r)) => format!("{} / {} ({r:.2}x)", thousands(class.local_tokens), thousands(b)),
                        (Some(b), None) => format!("{} / {}", thousands(class.local_tokens), thousands(b)),
                        (None, _) => thousands(class.local_tokens),
                    };
                    let pair = Pair {
                        local_usd: class.local_usd,
                        billed_usd: class.billed_usd,
                        ratio: None,
                        diff_usd: class.diff_usd,
                    };
                    let [l, b, _, d] = cells(&pair);
                    table.row(
                        RowKind::Detail,
                        vec![String::new(), format!("  {}", class.class), l, b, String::new(), d, tokens],
                    );
                }
            }
        }
    }
    let [l, b, r, d] = cells(&c.totals);
    table.row(RowKind::Total, vec!["Total".to_owned(), String::new(), l, b, r, d, String::new()]);
    if c.days.is_empty() {
        let _ = writeln!(s, "\nno usage in the transcripts or the bill for these days");
    } else {
        let _ = writeln!(s);
        s.push_str(&table.render(style));
    }
    if out.billing == "api" {
        write_flags(out, &mut s);
        write_sessions(out, &mut s);
        write_factors(out, &mut s);
    }
    for note in out.notes {
        let _ = writeln!(s, "note: {note}");
    }
    let _ = writeln!(s, "\n{}", out.digest);
    s
}

fn flag_mark(flagged: bool) -> String {
    if flagged { "!".to_owned() } else { String::new() }
}

fn source_line(out: &Output) -> String {
    let src = out.source;
    let mut line = format!("source: {}", src.description);
    if src.kind == "analytics" || src.kind == "legacy" {
        let _ = write!(line, "; {} days from the cache, {} fetched", src.cached_days, src.fetched_days);
    }
    if let Some(reason) = &src.fallback_reason {
        let _ = write!(line, "\n        (the analytics endpoints were not used: {reason})");
    }
    for CsvFile { path, kind, columns, rows } in &src.files {
        let _ = write!(line, "\n        {}: {kind} export, {columns}, {rows} rows", path.display());
    }
    line
}

fn write_flags(out: &Output, s: &mut String) {
    let c = out.comparison;
    let flags: Vec<_> = c.flags.iter().filter(|f| f.kind != "session").collect();
    let _ = writeln!(
        s,
        "\nflagged (billed at least {:.2}x the estimate, or an overhead step; days and models from {}):",
        c.alert_ratio,
        money(out.min_day_usd)
    );
    if flags.is_empty() {
        let _ = writeln!(s, "  nothing");
    }
    for f in flags {
        let new = out.new_flags.iter().any(|n| n.kind == f.kind && n.date == f.date && n.model == f.model);
        let what = match (&f.model, f.date) {
            (Some(model), Some(date)) => format!("{date} {model}"),
            (None, Some(date)) => format!("{date} (all models)"),
            _ => String::new(),
        };
        let _ = writeln!(s, "  {what}: {}{}", f.detail, if new { " [new]" } else { "" });
    }
}

fn write_sessions(out: &Output, s: &mut String) {
    let Some(sessions) = &out.comparison.sessions else { return };
    let _ = writeln!(s, "\nsessions (billed by session id), largest first:");
    let mut table = Table::new(&[
        ("Session", Align::Left),
        ("Estimated", Align::Right),
        ("Billed", Align::Right),
        ("Ratio", Align::Right),
        ("Diff", Align::Right),
        ("", Align::Left),
    ]);
    for row in sessions.iter().take(20) {
        let [l, b, r, d] = cells(&row.pair);
        let note = match (row.flagged, row.only_billed) {
            (_, true) => "no transcript here",
            (true, false) => "!",
            _ => "",
        };
        table.row(RowKind::Body, vec![row.session_id.clone(), l, b, r, d, note.to_owned()]);
    }
    s.push_str(&table.render(Style { color: false }));
    if sessions.len() > 20 {
        let _ = writeln!(s, "... and {} more (see --json)", sessions.len() - 20);
    }
}

fn write_factors(out: &Output, s: &mut String) {
    let Some(f) = out.factors else {
        let _ = writeln!(s, "\nfactors: none (no complete billed day in this range)");
        return;
    };
    let mut parts: Vec<String> =
        f.models.iter().map(|(model, m)| format!("{model} x{:.4} ({} days)", m.factor, m.days)).collect();
    if let Some(fallback) = f.fallback {
        parts.push(format!("other models x{fallback:.4}"));
    }
    if parts.is_empty() {
        parts.push(format!("none (no model spent {} on a day)", money(out.min_day_usd)));
    }
    let _ = writeln!(s, "\nfactors ({} to {}): {}", f.first_day, f.last_day, parts.join(", "));
    let _ = writeln!(
        s,
        "{}",
        match (out.factors_written, out.correct_budgets) {
            (true, true) => "  the hook applies them to every budget (reconcile.correct_budgets is on)",
            (true, false) => "  saved; set reconcile.correct_budgets = true to apply them to the budgets",
            (false, _) => "  not saved: only a range that ends today or yesterday updates the budget correction",
        }
    );
}
