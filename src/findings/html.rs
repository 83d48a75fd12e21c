//! An audit as one self-contained page: inline SVG charts (spend per day by model, waste by category, top
//! sessions, the anomaly timeline, the fixed overhead per day) and, per category, its rule, its estimate, its
//! suggestion and the evidence. No network: a Content-Security-Policy forbids every fetch, the only scripts are
//! inline (with a per-page nonce), and every text from a transcript is escaped.
//!
//! The last script records what the page drew (`data-charts` on the root element: each chart's marks and size)
//! and the errors it saw (`data-errors`): the browser test reads them back.

use super::anomalies::short;
use super::{Audit, Category, Scope, when};
use crate::text::thousands;
use crate::usage::Pico;
use chrono::{Datelike, NaiveDate};
use std::fmt::Write;

/// Findings listed per category (the JSON has them all).
const LISTED: usize = 100;
const PALETTE: [&str; 8] = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ec4899", "#8b5cf6", "#14b8a6", "#f97316"];
const OTHER: &str = "#94a3b8";
const RED: &str = "#e11d48";
const AMBER: &str = "#f59e0b";
/// Chart widths in user units: a full row, and half of one (both drawn at about one unit per pixel at 1280).
const WIDTH: f64 = 1160.0;
const HALF: f64 = 560.0;

pub(crate) fn render(audit: &Audit, version: &str, nonce: &str) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let period = match (audit.since, audit.until) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a} – {b}"),
        _ => "no spend".to_owned(),
    };
    let waste = audit.waste();
    let findings: usize = audit.categories.iter().map(|c| c.findings.len()).sum();
    let anomalies = audit.summary(Category::Anomalies).findings.len();
    let _ = write!(
        page,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Where the money went · ccbreaker audit · {period}</title>
<script nonce="{nonce}">{CAPTURE}</script>
<style>{STYLE}</style></head><body>
<header><div><h1>Where the money went</h1><p class="sub">{period} · {zone} · ccbreaker {version}</p></div></header>
<section class="cards">
<div class="card stat"><span>Spent</span><b>{total}</b><small>{requests} requests</small></div>
<div class="card stat warn"><span>Found in the findings</span><b>{waste}</b><small>{share:.0}% of the spend · {findings} findings</small></div>
<div class="card stat"><span>Biggest waste</span><b>{top_title}</b><small>{top_cost}</small></div>
<div class="card stat{anomaly_class}"><span>Anomalies</span><b>{anomalies}</b><small>hours or days ≥ 10× their median</small></div>
</section>
"#,
        CAPTURE = CAPTURE,
        STYLE = STYLE,
        zone = escape(&audit.zone.to_string()),
        total = audit.total,
        requests = thousands(audit.requests),
        share = if audit.total.0 == 0 { 0.0 } else { waste.0 as f64 * 100.0 / audit.total.0 as f64 },
        top_title = audit.wasted().first().map_or("—", |c| if c.cost.0 > 0 { c.category.title() } else { "—" }),
        top_cost = audit.wasted().first().map_or(Pico(0), |c| c.cost),
        anomaly_class = if anomalies > 0 { " alarm" } else { "" },
    );
    page.push_str(r#"<section class="grid">"#);
    figure(&mut page, "wide", "Spend per day, by model", &daily(audit), &legend(audit));
    figure(&mut page, "", "Waste by category", &categories(audit), "");
    figure(&mut page, "", "Top sessions: spend and what the findings put on it", &sessions(audit), "");
    figure(&mut page, "wide", "Anomaly timeline: spend per hour", &timeline(audit), "");
    figure(&mut page, "wide", "Fixed overhead: the smallest prompt per day", &overhead(audit), "");
    page.push_str("</section>\n<section class=\"findings\"><h2>Findings, most dollars first</h2>\n");
    for (rank, c) in audit.wasted().into_iter().chain([audit.summary(Category::Anomalies)]).enumerate() {
        let open = if rank < 3 && !c.findings.is_empty() { " open" } else { "" };
        let _ = write!(
            page,
            r#"<details id="cat-{name}" class="category"{open}><summary><span class="title">{title}</span><span class="num">{cost}</span><span class="count">{n} · {tokens} tokens</span></summary>
<p class="rule"><b>What it is:</b> {rule}. <b>The estimate:</b> {estimate}.</p><p class="tip">→ {tip}</p>"#,
            name = c.category.name(),
            title = c.category.title(),
            cost = c.cost,
            n = plural(c.findings.len(), "finding"),
            tokens = thousands(c.tokens),
            rule = escape(c.category.rule()),
            estimate = escape(c.category.estimate()),
            tip = escape(c.category.suggestion()),
        );
        if !c.findings.is_empty() {
            page.push_str("<table><thead><tr><th>when</th><th>session</th><th>what was seen</th><th class=\"num\">cost</th></tr></thead><tbody>\n");
            for f in c.findings.iter().take(LISTED) {
                let _ = writeln!(
                    page,
                    r#"<tr><td class="when">{when}</td><td class="sid" title="{session}">{short}</td><td>{detail}</td><td class="num">{cost}</td></tr>"#,
                    when = when(audit.zone, f.at_ms, f.scope),
                    session = escape(&f.session),
                    short = escape(short(&f.session)),
                    detail = escape(&f.detail),
                    cost = f.cost,
                );
            }
            page.push_str("</tbody></table>");
            if c.findings.len() > LISTED {
                let _ = write!(
                    page,
                    "<p class=\"more\">… and {} more: `ccbreaker audit --json` lists them all.</p>",
                    c.findings.len() - LISTED
                );
            }
        }
        page.push_str("</details>\n");
    }
    let _ = write!(
        page,
        r#"</section>
<footer><p>Every dollar here is priced with the table and rules the budget uses, as what the requests cost minus what they would have cost without the finding. Tool calls are counted in one of loops, retries, failed operations, re-reads and verbose output at most; anomalies overlap the other categories and are not in the total found. Tokens of a tool result or a text are measured from the growth of the next prompt.</p></footer>
<script nonce="{nonce}">{RECORD}</script>
</body></html>
"#,
        RECORD = RECORD,
    );
    page
}

fn figure(page: &mut String, class: &str, title: &str, svg: &str, after: &str) {
    let _ =
        write!(page, r#"<figure class="card {class}"><h2>{title}</h2>{svg}{after}</figure>"#, title = escape(title));
}

/// The color of the model at `index` in the audit's list (most expensive first).
fn color(index: usize) -> &'static str {
    PALETTE.get(index).copied().unwrap_or(OTHER)
}

fn legend(audit: &Audit) -> String {
    let mut out = String::from(r#"<div class="legend">"#);
    for (i, model) in audit.models.iter().enumerate().take(PALETTE.len() + 1) {
        let name = if i == PALETTE.len() { "other models" } else { model.as_str() };
        let _ = write!(out, r#"<span><i style="background:{}"></i>{}</span>"#, color(i), escape(name));
    }
    if audit.days.iter().any(|d| d.anomaly) {
        let _ = write!(out, r#"<span><i style="background:{RED}"></i>anomaly</span>"#);
    }
    out.push_str("</div>");
    out
}

/// A round step for an axis up to `max`: 1, 2 or 5 times a power of ten, about four steps.
fn step(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / 4.0;
    // The power of ten at or below `raw`, by multiplying: `powf` and `log10` would link libm into the binary, and
    // loading one more shared library costs every hook call about 0.1 ms.
    let mut power = 1.0;
    while power > raw {
        power /= 10.0;
    }
    while power * 10.0 <= raw {
        power *= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power)
}

fn money(usd: f64) -> String {
    if usd >= 1000.0 {
        format!("${:.1}k", usd / 1000.0)
    } else if usd >= 10.0 || usd == 0.0 {
        format!("${usd:.0}")
    } else if usd >= 1.0 {
        format!("${usd:.1}")
    } else {
        format!("${usd:.2}")
    }
}

fn tokens_short(n: f64) -> String {
    if n >= 1_000_000.0 {
        format!("{:.1}M", n / 1_000_000.0)
    } else if n >= 1000.0 {
        format!("{:.0}k", n / 1000.0)
    } else {
        format!("{n:.0}")
    }
}

/// Horizontal grid lines with labels, for a plot from `top` to `bottom` whose axis goes up to `max`.
fn grid(svg: &mut String, (left, right, top, bottom): (f64, f64, f64, f64), max: f64, label: impl Fn(f64) -> String) {
    let step = step(max);
    let mut v = 0.0;
    while v <= max * 1.0001 {
        let y = bottom - (v / max.max(f64::MIN_POSITIVE)) * (bottom - top);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{right}" y1="{y:.1}" y2="{y:.1}" class="gridline"/><text x="{lx}" y="{ty:.1}" class="axis" text-anchor="end">{}</text>"##,
            label(v),
            lx = left - 6.0,
            ty = y + 4.0
        );
        v += step;
    }
}

fn axis_max(max: f64) -> f64 {
    let step = step(max);
    (max / step).ceil().max(1.0) * step
}

fn empty(chart: &str, width: f64, height: f64, text: &str) -> String {
    format!(
        r#"<svg data-chart="{chart}" viewBox="0 0 {width} {height}" role="img"><text x="{x}" y="{y}" class="empty" text-anchor="middle">{text}</text></svg>"#,
        x = width / 2.0,
        y = height / 2.0
    )
}

fn daily(audit: &Audit) -> String {
    let (height, left, right, top, bottom) = (300.0, 64.0, WIDTH - 12.0, 28.0, 262.0);
    if audit.days.is_empty() {
        return empty("daily", WIDTH, height, "No spend in this period");
    }
    let max = axis_max(audit.days.iter().map(|d| d.total.usd()).fold(0.0, f64::max));
    let mut svg = format!(r#"<svg data-chart="daily" viewBox="0 0 {WIDTH} {height}" role="img">"#);
    grid(&mut svg, (left, right, top, bottom), max, money);
    let n = audit.days.len() as f64;
    let band = (right - left) / n;
    let bar = (band * 0.72).clamp(1.0, 56.0);
    let every = (audit.days.len() / 12).max(1);
    for (i, day) in audit.days.iter().enumerate() {
        let x = left + band * i as f64 + (band - bar) / 2.0;
        let mut y = bottom;
        for &(model, cost) in &day.models {
            let h = cost.usd() / max * (bottom - top);
            y -= h;
            let _ = write!(
                svg,
                r#"<rect data-mark x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}" rx="1.5"><title>{} · {}: {}</title></rect>"#,
                color(model.min(PALETTE.len())),
                day.date,
                escape(audit.models.get(model).map_or("", String::as_str)),
                cost
            );
        }
        if day.anomaly {
            let (cx, ty) = (x + bar / 2.0, y - 6.0);
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="none" stroke="{RED}" stroke-width="2" rx="2"/><path data-mark d="M{l:.1},{b:.1} L{r:.1},{b:.1} L{cx:.1},{t:.1} Z" fill="{RED}"><title>{} is an anomaly: {}</title></path>"#,
                day.date,
                day.total,
                h = bottom - y,
                l = cx - 6.0,
                r = cx + 6.0,
                b = ty,
                t = ty - 10.0,
            );
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" class="axis" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                bottom + 18.0,
                short_date(day.date)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn short_date(date: NaiveDate) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{} {}", MONTHS[date.month0() as usize], date.day())
}

fn categories(audit: &Audit) -> String {
    let ranked = audit.wasted();
    let row = 30.0;
    let height = row * ranked.len() as f64 + 16.0;
    let (left, right) = (170.0, HALF - 120.0);
    let max = ranked.first().map_or(0.0, |c| c.cost.usd());
    let mut svg = format!(r#"<svg data-chart="categories" viewBox="0 0 {HALF} {height}" role="img">"#);
    for (i, c) in ranked.iter().enumerate() {
        let y = 8.0 + row * i as f64;
        let w = if max > 0.0 {
            (c.cost.usd() / max * (right - left)).max(if c.cost.0 > 0 { 2.0 } else { 0.0 })
        } else {
            0.0
        };
        let fill = AMBER;
        let _ = write!(
            svg,
            r##"<a href="#cat-{name}"><text x="{tx}" y="{ty:.1}" class="label" text-anchor="end">{title}</text><rect data-mark x="{left}" y="{y:.1}" width="{w:.1}" height="{h}" rx="3" fill="{fill}"><title>{title}: {cost}, {n}</title></rect><text x="{vx:.1}" y="{ty:.1}" class="value">{cost} · {count}</text></a>"##,
            name = c.category.name(),
            tx = left - 10.0,
            ty = y + 15.0,
            title = c.category.title(),
            h = row - 10.0,
            cost = c.cost,
            n = plural(c.findings.len(), "finding"),
            vx = left + w + 8.0,
            count = thousands(c.findings.len() as u64),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn sessions(audit: &Audit) -> String {
    let shown: Vec<_> = audit.sessions.iter().take(10).collect();
    let row = 30.0;
    if shown.is_empty() {
        return empty("sessions", HALF, 120.0, "No sessions in this period");
    }
    let height = row * shown.len() as f64 + 16.0;
    let (left, right) = (170.0, HALF - 230.0);
    let max = shown.iter().map(|s| s.cost.usd()).fold(0.0, f64::max);
    let mut svg = format!(r#"<svg data-chart="sessions" viewBox="0 0 {HALF} {height}" role="img">"#);
    for (i, s) in shown.iter().enumerate() {
        let y = 8.0 + row * i as f64;
        let scale = |usd: f64| if max > 0.0 { usd / max * (right - left) } else { 0.0 };
        let (w, ww) = (scale(s.cost.usd()).max(2.0), scale(s.waste.usd().min(s.cost.usd())));
        let project = s.project.rsplit('-').find(|p| !p.is_empty()).unwrap_or(&s.project);
        let _ = write!(
            svg,
            r##"<text x="{tx}" y="{ty:.1}" class="label" text-anchor="end"><tspan class="mono">{short}</tspan> {project}</text><rect data-mark x="{left}" y="{y:.1}" width="{w:.1}" height="{h}" rx="3" fill="#c7d2fe"><title>{session} ({project_full}): {cost} in {requests} requests, cache hit ratio {hit:.0}%</title></rect><rect x="{left}" y="{y:.1}" width="{ww:.1}" height="{h}" rx="3" fill="{AMBER}"><title>found in the findings: {waste}</title></rect><text x="{vx:.1}" y="{ty:.1}" class="value">{cost} · {waste} found · {hit:.0}% cached</text>"##,
            tx = left - 10.0,
            ty = y + 15.0,
            short = escape(short(&s.session)),
            project = escape(project),
            project_full = escape(&s.project),
            session = escape(&s.session),
            h = row - 10.0,
            cost = s.cost,
            waste = s.waste,
            requests = thousands(s.requests),
            hit = s.hit_ratio * 100.0,
            vx = left + w + 8.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn timeline(audit: &Audit) -> String {
    let (height, left, right, top, bottom) = (230.0, 64.0, WIDTH - 36.0, 34.0, 196.0);
    let (Some(first), Some(last)) = (audit.hours.first(), audit.hours.last()) else {
        return empty("timeline", WIDTH, height, "No spend in this period");
    };
    let (start, end) = (first.0.timestamp(), last.0.timestamp() + 3600);
    let span = (end - start).max(3600) as f64;
    let max = axis_max(audit.hours.iter().map(|h| h.1.usd()).fold(0.0, f64::max));
    let mut svg = format!(r#"<svg data-chart="timeline" viewBox="0 0 {WIDTH} {height}" role="img">"#);
    // Anomalous days as bands behind the bars.
    for f in audit.summary(Category::Anomalies).findings.iter().filter(|f| f.scope == Scope::Day) {
        let x0 = left + ((f.at_ms / 1000 - start) as f64 / span).clamp(0.0, 1.0) * (right - left);
        let x1 = left + ((f.at_ms / 1000 + 86_400 - start) as f64 / span).clamp(0.0, 1.0) * (right - left);
        let _ = write!(
            svg,
            r#"<rect x="{x0:.1}" y="{top}" width="{:.1}" height="{}" fill="{RED}" opacity="0.08"/>"#,
            x1 - x0,
            bottom - top
        );
    }
    grid(&mut svg, (left, right, top, bottom), max, money);
    let w = ((right - left) * 3600.0 / span).max(1.0);
    for (hour, cost, anomaly) in &audit.hours {
        let x = left + (hour.timestamp() - start) as f64 / span * (right - left);
        let h = (cost.usd() / max * (bottom - top)).max(0.5);
        let local = audit.zone.to_local(*hour);
        let fill = if *anomaly { RED } else { "#6366f1" };
        let _ = write!(
            svg,
            r#"<rect data-mark x="{x:.1}" y="{:.1}" width="{w:.2}" height="{h:.1}" fill="{fill}"><title>{}: {cost}</title></rect>"#,
            bottom - h,
            local.format("%Y-%m-%d %H:00")
        );
    }
    for f in &audit.summary(Category::Anomalies).findings {
        let x = left + ((f.at_ms / 1000 - start) as f64 / span).clamp(0.0, 1.0) * (right - left);
        let x = if f.scope == Scope::Day { x + (right - left) * 43_200.0 / span } else { x + w / 2.0 };
        let label = f.detail.split(": ").next().unwrap_or("");
        // Near an edge the label is anchored on the inside, so that it is not cut off.
        let anchor = if x > right - 80.0 {
            "end"
        } else if x < left + 80.0 {
            "start"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            r#"<circle data-mark cx="{x:.1}" cy="{cy}" r="5" fill="{RED}"><title>{}</title></circle><text x="{x:.1}" y="{ty}" class="alarm-label" text-anchor="{anchor}">{} · {}</text>"#,
            escape(&f.detail),
            escape(label),
            f.cost,
            cy = top - 12.0,
            ty = top - 20.0,
        );
    }
    let days = (span / 86_400.0).ceil() as i64;
    let every = (days / 12).max(1);
    for d in (0..=days).step_by(every as usize) {
        let t = start + d * 86_400;
        let x = left + (t - start) as f64 / span * (right - left);
        if x > right {
            break;
        }
        let date = audit.zone.to_local(chrono::DateTime::from_timestamp(t, 0).unwrap_or_default()).date_naive();
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{}" class="axis" text-anchor="middle">{}</text>"#,
            bottom + 18.0,
            short_date(date)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn overhead(audit: &Audit) -> String {
    let (height, left, right, top, bottom) = (220.0, 64.0, WIDTH - 36.0, 20.0, 186.0);
    if audit.overhead.is_empty() {
        return empty("overhead", WIDTH, height, "No main-session requests in this period");
    }
    let max = axis_max(audit.overhead.iter().map(|(_, t)| *t as f64).fold(0.0, f64::max));
    let mut svg = format!(r#"<svg data-chart="overhead" viewBox="0 0 {WIDTH} {height}" role="img">"#);
    grid(&mut svg, (left, right, top, bottom), max, tokens_short);
    let n = audit.overhead.len();
    let x = |i: usize| if n == 1 { (left + right) / 2.0 } else { left + (right - left) * i as f64 / (n - 1) as f64 };
    let y = |t: u64| bottom - t as f64 / max * (bottom - top);
    let path: Vec<String> =
        audit.overhead.iter().enumerate().map(|(i, (_, t))| format!("{:.1},{:.1}", x(i), y(*t))).collect();
    let _ = write!(svg, r##"<polyline points="{}" fill="none" stroke="#0ea5e9" stroke-width="2.5"/>"##, path.join(" "));
    let steps: Vec<String> = audit
        .summary(Category::OverheadCreep)
        .findings
        .iter()
        .filter_map(|f| {
            f.detail
                .split(") to ")
                .nth(1)
                .and_then(|rest| rest.split(" (").nth(1))
                .map(|d| d.get(..10).unwrap_or(d).to_owned())
        })
        .collect();
    let every = (n / 12).max(1);
    for (i, (date, tokens)) in audit.overhead.iter().enumerate() {
        let step = steps.iter().any(|d| *d == date.to_string());
        let (fill, r) = if step { (RED, 6.0) } else { ("#0ea5e9", 3.5) };
        let _ = write!(
            svg,
            r#"<circle data-mark cx="{:.1}" cy="{:.1}" r="{r}" fill="{fill}"><title>{date}: smallest prompt {} tokens</title></circle>"#,
            x(i),
            y(*tokens),
            thousands(*tokens)
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" class="axis" text-anchor="middle">{}</text>"#,
                x(i),
                bottom + 18.0,
                short_date(*date)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{} {noun}s", thousands(n as u64)) }
}

/// Text for HTML: the five characters that could end an element or an attribute, escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Runs first: every error, console error and blocked fetch is kept for the browser test (and a curious reader).
const CAPTURE: &str = "window.__errors=[];\
addEventListener('error',function(e){__errors.push('error: '+(e.message||(e.target&&e.target.outerHTML)||e.type))},true);\
addEventListener('unhandledrejection',function(e){__errors.push('rejection: '+e.reason)});\
document.addEventListener('securitypolicyviolation',function(e){__errors.push('blocked: '+e.violatedDirective+' '+e.blockedURI)});\
(function(){var ce=console.error;console.error=function(){__errors.push('console: '+Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments)}})();";

/// Runs last, once the page is laid out: records each chart's marks and drawn size, and the errors seen.
const RECORD: &str = "addEventListener('load',function(){var d=document.documentElement,charts=[];\
document.querySelectorAll('svg[data-chart]').forEach(function(s){var b=s.getBoundingClientRect();\
charts.push(s.getAttribute('data-chart')+':'+s.querySelectorAll('[data-mark]').length+':'+Math.round(b.width)+'x'+Math.round(b.height))});\
d.setAttribute('data-charts',charts.join(' '));d.setAttribute('data-errors',String(__errors.length));\
d.setAttribute('data-error-list',__errors.join(' | '));d.setAttribute('data-rendered','yes')});";

const STYLE: &str = r#"
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f4f6fb;--card:#fff;--amber:#f59e0b;--red:#e11d48}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif}
header{background:linear-gradient(120deg,#1e1b4b,#4338ca 60%,#0ea5e9);color:#fff;padding:26px 40px 64px}
h1{margin:0;font-size:30px;letter-spacing:-.02em}
.sub{margin:4px 0 0;opacity:.8}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:16px;margin:-44px 40px 0}
.card{background:var(--card);border-radius:14px;box-shadow:0 1px 2px rgba(15,23,42,.06),0 8px 24px rgba(15,23,42,.06);padding:16px 20px}
.stat span{display:block;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.stat b{display:block;font-size:28px;margin:2px 0;letter-spacing:-.02em}
.stat small{color:var(--muted)}
.stat.warn b{color:#b45309}
.stat.alarm b{color:var(--red)}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin:16px 40px}
figure{margin:0}
figure.wide{grid-column:1/-1}
figure h2,.findings h2{font-size:15px;margin:0 0 8px}
svg{width:100%;height:auto;display:block}
svg text{font-family:inherit}
.gridline{stroke:var(--line);stroke-width:1}
.axis{fill:var(--muted);font-size:12px}
.label{fill:var(--ink);font-size:13px}
.value{fill:var(--muted);font-size:12px}
.mono{font-family:"DejaVu Sans Mono",ui-monospace,Menlo,monospace}
.empty{fill:var(--muted);font-size:16px}
.alarm-label{fill:var(--red);font-size:12px;font-weight:600}
a:hover rect{opacity:.8}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin-top:8px;color:var(--muted);font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.findings{margin:16px 40px}
details.category{background:var(--card);border-radius:12px;margin:0 0 10px;box-shadow:0 1px 2px rgba(15,23,42,.06);padding:4px 18px}
summary{cursor:pointer;display:flex;gap:16px;align-items:baseline;padding:10px 0;font-size:15px}
summary .title{font-weight:600;min-width:220px}
summary .num{font-weight:700;min-width:90px}
summary .count{color:var(--muted);font-size:13px}
.rule{color:var(--muted);margin:0 0 4px}
.tip{margin:0 0 10px;padding:8px 12px;background:#fffbeb;border-left:3px solid var(--amber);border-radius:6px}
table{width:100%;border-collapse:collapse;margin:0 0 12px;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:500;border-bottom:1px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:top;word-break:break-word}
td.when,td.sid{white-space:nowrap;font-family:"DejaVu Sans Mono",ui-monospace,Menlo,monospace;font-size:12px}
.num{text-align:right;white-space:nowrap}
.more{color:var(--muted)}
footer{margin:8px 40px 40px;color:var(--muted);font-size:12px;max-width:900px}
@media (max-width:900px){.cards,.grid{grid-template-columns:1fr 1fr}header,.cards,.grid,.findings,footer{margin-left:16px;margin-right:16px}}
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn transcript_text_cannot_end_an_element() {
        assert_eq!(super::escape(r#"</script><b a='x'>&"#), "&lt;/script&gt;&lt;b a=&#39;x&#39;&gt;&amp;");
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(super::step(9.0), 5.0);
        assert_eq!(super::step(47.0), 20.0);
        assert_eq!(super::axis_max(47.0), 60.0);
        assert_eq!(super::step(0.3), 0.1);
    }
}
