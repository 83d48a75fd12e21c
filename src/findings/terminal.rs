//! An audit for a terminal: a bar chart of spend per day (Unicode blocks, as wide as the terminal) with anomalies
//! marked, then the categories ranked by dollars, each with its suggestion and its most expensive findings.

use super::anomalies::short;
use super::{Audit, Category, when};
use crate::text::{Style, thousands};
use crate::usage::Pico;
use chrono::{Datelike, Duration, NaiveDate};

/// The narrowest layout drawn; a narrower terminal gets this width anyway.
const MIN_WIDTH: usize = 50;
/// More days than this are charted per week.
const MAX_DAY_ROWS: usize = 62;
/// Findings shown under each category.
const SHOWN: usize = 3;

pub(crate) fn render(audit: &Audit, width: usize, style: Style) -> String {
    let width = width.max(MIN_WIDTH);
    let mut out = String::new();
    let period = match (audit.since, audit.until) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "no spend".to_owned(),
    };
    out.push_str(&style.paint("1", &wrap(&format!("Where the money went: {period} ({})", audit.zone), width, "")));
    let waste = audit.waste();
    let summary = format!(
        "{} spent in {} requests; the findings below account for {} ({:.0}%).",
        audit.total,
        thousands(audit.requests),
        waste,
        percent(waste, audit.total)
    );
    out.push_str(&wrap(&summary, width, ""));
    if audit.days.is_empty() {
        out.push_str("\nNo spend in this period.\n");
        return out;
    }
    out.push('\n');
    out.push_str(&chart(audit, width, style));
    out.push('\n');
    out.push_str(&style.paint("1", "Waste by category, most dollars first"));
    out.push('\n');
    let mut ranked = audit.wasted();
    let top = ranked.first().map_or(Pico(0), |c| c.cost);
    let name_w = Category::ALL.iter().map(|c| c.title().len()).max().unwrap_or(0);
    let cost_w = ranked.iter().map(|c| c.cost.to_string().len()).max().unwrap_or(0);
    let count_w = ranked.iter().map(|c| thousands(c.findings.len() as u64).len()).max().unwrap_or(0);
    let fixed = name_w + cost_w + count_w + 6;
    let bar_w = width.saturating_sub(fixed).clamp(4, 40);
    // Anomalies last, apart and without a bar: spikes in spend, which overlap the waste above.
    ranked.push(audit.summary(Category::Anomalies));
    for c in &ranked {
        let anomalies = c.category == Category::Anomalies;
        if anomalies {
            out.push_str(&style.paint("2", &"-".repeat((fixed - 2).min(width))));
            out.push('\n');
        }
        let bar = if anomalies { String::new() } else { bar(c.cost.0 as f64, top.0 as f64, bar_w) };
        out.push_str(
            &format!(
                "{:<name_w$}  {:>cost_w$}  {:>count_w$}  {}\n",
                c.category.title(),
                c.cost.to_string(),
                thousands(c.findings.len() as u64),
                style.paint("33", &bar)
            )
            .replace("  \n", "\n"),
        );
    }
    for c in ranked.iter().filter(|c| !c.findings.is_empty()) {
        out.push('\n');
        let head = format!(
            "{}: {} in {} ({} tokens): {}",
            c.category.title(),
            c.cost,
            plural(c.findings.len(), "finding"),
            thousands(c.tokens),
            c.category.rule()
        );
        out.push_str(&style.paint("1", &wrap(&head, width, "")));
        out.push_str(&style.paint("2", &wrap(&format!("Estimate: {}.", c.category.estimate()), width, "  ")));
        out.push_str(&wrap(&format!("→ {}", c.category.suggestion()), width, "  "));
        for f in c.findings.iter().take(SHOWN) {
            let line =
                format!("• {} {} {}: {}", when(audit.zone, f.at_ms, f.scope), short(&f.session), f.cost, f.detail);
            out.push_str(&wrap(&line, width, "    "));
        }
        if c.findings.len() > SHOWN {
            out.push_str(
                &style.paint("2", &format!("    … and {} more (--json or --html for all)\n", c.findings.len() - SHOWN)),
            );
        }
    }
    out
}

/// Spend per day (per week over long periods), one bar each, scaled to the largest.
fn chart(audit: &Audit, width: usize, style: Style) -> String {
    let weekly = audit.days.len() > MAX_DAY_ROWS;
    let mut rows: Vec<(String, Pico, bool)> = Vec::new();
    for day in &audit.days {
        let label = if weekly { week_of(day.date).to_string() } else { day.date.to_string() };
        match rows.last_mut() {
            Some(last) if last.0 == label => {
                last.1 = last.1.saturating_add(day.total);
                last.2 |= day.anomaly;
            }
            _ => rows.push((label, day.total, day.anomaly)),
        }
    }
    let title = if weekly { "Spend per week (from Monday)" } else { "Spend per day" };
    let max = rows.iter().map(|r| r.1).max().unwrap_or(Pico(0));
    let amount_w = rows.iter().map(|r| r.1.to_string().len()).max().unwrap_or(0);
    let marker = " ▲ anomaly";
    let bar_w = width.saturating_sub(10 + 2 + 1 + amount_w + marker.chars().count()).max(4);
    let mut out = style.paint("1", title);
    out.push('\n');
    for (label, cost, anomaly) in rows {
        let bar = bar(cost.0 as f64, max.0 as f64, bar_w);
        let pad = bar_w - bar.chars().count();
        let bar = style.paint(if anomaly { "31" } else { "36" }, &bar);
        let mark = if anomaly { style.paint("1;31", marker) } else { String::new() };
        out.push_str(&format!("{label:<10}  {bar}{} {:>amount_w$}{mark}\n", " ".repeat(pad), cost.to_string()));
    }
    out
}

/// A bar of `value / max` of `width` cells, in eighths of a cell; never empty for a value above zero.
pub(crate) fn bar(value: f64, max: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    if max <= 0.0 || value <= 0.0 {
        return String::new();
    }
    let eighths = ((value / max) * (width * 8) as f64).round().max(1.0) as usize;
    let mut bar = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        bar.push(EIGHTHS[eighths % 8 - 1]);
    }
    bar
}

fn week_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

fn percent(part: Pico, whole: Pico) -> f64 {
    if whole.0 == 0 { 0.0 } else { part.0 as f64 * 100.0 / whole.0 as f64 }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{} {noun}s", thousands(n as u64)) }
}

/// `text` broken into lines of at most `width` characters (a longer word stands alone), each line after the
/// first indented by `indent`, every line ended.
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let prefix = if out.is_empty() && line.is_empty() { "" } else { indent };
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = format!("{indent}{word}");
            continue;
        }
        if line.is_empty() {
            line.push_str(prefix);
        } else {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_in_eighths_and_never_vanish() {
        assert_eq!(bar(1.0, 1.0, 4), "████");
        assert_eq!(bar(0.5, 1.0, 4), "██");
        assert_eq!(bar(1.0, 8.0, 4), "▌");
        assert_eq!(bar(1.0, 16.0, 4), "▎");
        assert_eq!(bar(0.0001, 1.0, 4), "▏");
        assert_eq!(bar(0.0, 1.0, 4), "");
    }

    #[test]
    fn wrapping_keeps_every_line_within_the_width() {
        let text = "the quick brown fox jumps over the lazy dog and keeps on running";
        let wrapped = wrap(text, 20, "  ");
        assert!(wrapped.lines().all(|l| l.chars().count() <= 20), "{wrapped}");
        assert_eq!(wrapped.split_whitespace().collect::<Vec<_>>(), text.split_whitespace().collect::<Vec<_>>());
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("  ")));
    }
}
