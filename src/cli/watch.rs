//! `ccbreaker watch`: a full-screen terminal view (ratatui on crossterm) of the budgets, the burn rate, the
//! sessions and the last alerts, redrawn when something changed (see [`super::live`]). `--once`, a dumb terminal or
//! an output that is not a terminal print the frame as text instead: once, or again on each change. It runs in
//! `ccbreaker-net`, so the hook's binary links no terminal UI.

use super::Io;
use super::args::Args;
use super::live::{Frame, Live, TICK};
use crate::error::{Error, exit};
use crate::sync::Scan;
use crate::zone::Zone;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The views `tab` goes through.
const VIEWS: [&str; 3] = ["overview", "sessions", "alerts"];
/// The width of `--once` and of a plain frame when neither the terminal nor `COLUMNS` says.
const DEFAULT_WIDTH: u16 = 80;

/// How to draw: bars in ASCII (a dumb terminal), times in the budget's zone.
#[derive(Debug, Clone, Copy)]
struct Look {
    ascii: bool,
    zone: Zone,
}

/// What the person chose: the view, and the session selected (by index in the frame's list).
#[derive(Debug, Clone, Copy, Default)]
struct Ui {
    view: usize,
    selected: usize,
}

pub(super) fn watch(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let once = args.flag("--once");
    args.finish()?;
    let place = super::place(io, "watch")?;
    let config = super::config(&place, io)?;
    let mut live = Live::new(&config, &place);
    let frame = live.frame(io, Scan::Now)?;
    let color = io.stdout_is_terminal && !io.env.no_color && !io.env.dumb_terminal;
    let look = Look { ascii: io.env.dumb_terminal, zone: config.budget.timezone };
    let width = crate::text::Width::of(io.stdout_is_terminal, io.env, false)
        .columns
        .map_or(DEFAULT_WIDTH, |c| u16::try_from(c).unwrap_or(u16::MAX));
    if once || !io.stdout_is_terminal || !io.stdin_is_terminal || io.env.dumb_terminal {
        write!(io.stdout, "{}", text(&lines(&frame, Ui::default(), width, None, look), color))?;
        if once {
            return Ok(exit::OK);
        }
        // A plain frame again on each change, until interrupted.
        loop {
            std::thread::sleep(TICK);
            if let Some(scan) = live.changed() {
                let frame = live.frame(io, scan)?;
                write!(io.stdout, "\n{}", text(&lines(&frame, Ui::default(), width, None, look), color))?;
            }
        }
    }
    let mut terminal = ratatui::init();
    let result = screen(&mut terminal, &mut live, frame, io, look);
    ratatui::restore();
    result
}

/// The full-screen loop: redraw on a key, a change, or a resize; `q` (or Esc, Ctrl-C) ends it.
fn screen(
    terminal: &mut ratatui::DefaultTerminal,
    live: &mut Live,
    mut frame: Frame,
    io: &mut Io,
    look: Look,
) -> Result<u8, Error> {
    let mut ui = Ui::default();
    let mut last_look = std::time::Instant::now();
    // Drawn again only after a key, a resize or a change: an idle screen costs nothing to keep.
    let mut stale = true;
    loop {
        ui.selected = ui.selected.min(frame.status.sessions.len().saturating_sub(1));
        if std::mem::take(&mut stale) {
            terminal
                .draw(|f| {
                    let area = f.area();
                    let lines = lines(&frame, ui, area.width, Some(area.height), look);
                    f.render_widget(Paragraph::new(lines), area);
                })
                .map_err(Error::file("draw on", "the terminal"))?;
        }
        let wait = TICK.saturating_sub(last_look.elapsed());
        if event::poll(wait).map_err(Error::file("read", "the terminal"))? {
            stale = true;
            match event::read().map_err(Error::file("read", "the terminal"))? {
                Event::Key(key) if key.kind != KeyEventKind::Release => match key.code {
                    KeyCode::Char('q') | KeyCode::Esc => return Ok(exit::OK),
                    KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return Ok(exit::OK),
                    KeyCode::Tab => ui.view = (ui.view + 1) % VIEWS.len(),
                    KeyCode::BackTab => ui.view = (ui.view + VIEWS.len() - 1) % VIEWS.len(),
                    KeyCode::Down => ui.selected += 1,
                    KeyCode::Up => ui.selected = ui.selected.saturating_sub(1),
                    _ => {}
                },
                _ => {}
            }
            continue;
        }
        last_look = std::time::Instant::now();
        if let Some(scan) = live.changed() {
            frame = live.frame(io, scan)?;
            stale = true;
        }
    }
}

fn zone_color(zone: &str) -> Color {
    match zone {
        "over" => Color::Red,
        "warn" => Color::Yellow,
        _ => Color::Green,
    }
}

/// `$12.34`
fn usd(x: f64) -> String {
    crate::usage::Pico::from_usd(x).to_string()
}

/// A scope's spend or limit in its unit: `$12.50`, or `1,200,000 tok`.
fn amount(unit: &str, x: f64) -> String {
    if unit == "tokens" { format!("{} tok", crate::text::thousands(x as u64)) } else { usd(x) }
}

/// `2h05m`, `45m`.
fn duration(minutes: f64) -> String {
    let m = minutes.round() as i64;
    if m >= 48 * 60 {
        format!("{}d", m / (24 * 60))
    } else if m >= 60 {
        format!("{}h{:02}m", m / 60, m % 60)
    } else {
        format!("{m}m")
    }
}

/// An RFC 3339 time in the budget's time zone, as `format` says.
fn local(rfc3339: &str, zone: Zone, format: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => zone.to_local(t.with_timezone(&chrono::Utc)).format(format).to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

/// At most `n` characters of `s`, with `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The frame as lines, for a screen `width` wide and (when drawing the screen) `height` high: at 80×24 the
/// essentials fit; what does not is dropped, least important first.
fn lines(frame: &Frame, ui: Ui, width: u16, height: Option<u16>, look: Look) -> Vec<Line<'static>> {
    let Look { ascii, zone } = look;
    let clock = |t: &str| local(t, zone, "%H:%M:%S");
    let width = usize::from(width.max(40));
    let s = &frame.status;
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = Style::new().add_modifier(Modifier::DIM);
    let mut top: Vec<Line> = Vec::new();
    let tabs: Vec<Span> = VIEWS
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            if i == ui.view {
                [Span::raw(" "), Span::styled(format!("[{v}]"), Style::new().add_modifier(Modifier::REVERSED))]
            } else {
                [Span::raw(" "), Span::styled(format!(" {v} "), dim)]
            }
        })
        .collect();
    let mut header = vec![Span::styled(format!("ccbreaker {} {} {}", s.date, clock(&frame.at), s.timezone), bold)];
    header.extend(tabs);
    top.push(Line::from(header));

    // Budgets: one bar per scope, nearest first.
    let blocked = s.sessions.iter().filter(|r| r.state == "blocked" || r.state == "tampered").count();
    if s.scopes.is_empty() {
        top.push(Line::from(format!("today    {} (no daily budget)", usd(s.day.cost_usd))));
    }
    for scope in &s.scopes {
        let right = format!(
            " {} / {} {:>4.0}% {}",
            amount(scope.unit, scope.spent),
            amount(scope.unit, scope.limit),
            scope.fraction * 100.0,
            scope.zone.to_uppercase()
        );
        let bar_width = width.saturating_sub(10 + right.chars().count()).clamp(10, 60);
        let filled = (scope.fraction.clamp(0.0, 1.0) * bar_width as f64).round() as usize;
        let warn_at = ((s.budgets.warn_at.clamp(0.0, 1.0)) * bar_width as f64).round() as usize;
        let (full, empty, mark) = if ascii { ('#', '.', '|') } else { ('█', '░', '│') };
        let bar: String = (0..bar_width)
            .map(|i| {
                if i < filled {
                    full
                } else if i == warn_at && s.budgets.warn_at > 0.0 && s.budgets.warn_at < 1.0 {
                    mark
                } else {
                    empty
                }
            })
            .collect();
        let color = Style::new().fg(zone_color(scope.zone));
        top.push(Line::from(vec![
            Span::raw(format!("{:<9}", cut(&scope.scope, 8))),
            Span::styled(bar, color),
            Span::styled(right, color),
        ]));
    }
    let reach: Vec<String> = frame
        .burn
        .reach
        .iter()
        .map(|r| {
            let at = |m: Option<f64>| match m {
                Some(m) if m <= 0.0 => "reached".to_owned(),
                Some(m) => duration(m),
                None => "never".to_owned(),
            };
            format!("{}: {} / {}", r.scope, at(r.minutes_10m), at(r.minutes_60m))
        })
        .collect();
    top.push(Line::from(format!(
        "burn     {}/h over 10 min, {}/h over 60 min",
        usd(frame.burn.usd_per_hour_10m),
        usd(frame.burn.usd_per_hour_60m),
    )));
    if !reach.is_empty() {
        top.push(Line::from(cut(&format!("reaches  {} (at the 10 / 60 min rates)", reach.join(", ")), width)));
    }
    let mut extra: Vec<Line> = Vec::new();
    match &frame.block {
        Some(b) => extra.push(Line::from(format!(
            "5h block {}-{}  {} so far, projected {}{}",
            b.start.get(11..16).unwrap_or(""),
            b.end.get(11..16).unwrap_or(""),
            usd(b.cost_usd),
            b.projected_usd.map(usd).unwrap_or_else(|| "?".to_owned()),
            b.usd_per_hour.map(|r| format!(" at {}/h", usd(r))).unwrap_or_default()
        ))),
        None => extra.push(Line::from("5h block none open")),
    }
    if !frame.plan.is_empty() {
        let plan: Vec<String> = frame.plan.iter().map(|p| format!("{} {:.0}%", p.window, p.used_percent)).collect();
        extra.push(Line::from(format!("plan     {}", plan.join("  "))));
    }

    // Sessions.
    let project_width = width.saturating_sub(68).clamp(8, 40);
    let mut table: Vec<Line> = vec![Line::styled(
        format!(
            "  {:<8} {:<pw$} {:>9} {:<8} {:<9} {:>3} {:>8}",
            "session",
            "project",
            "spent",
            "state",
            "guard",
            "sub",
            "last",
            pw = project_width
        ),
        bold,
    )];
    if s.sessions.is_empty() {
        table.push(Line::styled("  no session has spent anything today", dim));
    }
    for (i, r) in s.sessions.iter().enumerate() {
        let state = match r.state {
            "blocked" | "tampered" => r.state.to_uppercase(),
            other => other.to_owned(),
        };
        let line = format!(
            "{}{:<8} {:<pw$} {:>9} {:<8} {:<9} {:>3} {:>8}",
            if i == ui.selected { "> " } else { "  " },
            r.session_id.chars().take(8).collect::<String>(),
            cut(&r.project, project_width),
            usd(r.totals.cost_usd),
            state,
            r.gates,
            r.subagents_running,
            r.last_activity.as_deref().map(clock).unwrap_or_default(),
            pw = project_width
        );
        let mut style = match r.state {
            "blocked" | "tampered" => Style::new().fg(Color::Red),
            "warn" => Style::new().fg(Color::Yellow),
            _ => Style::new(),
        };
        if i == ui.selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        table.push(Line::styled(line, style));
    }
    let selected = s.sessions.get(ui.selected);
    let allow = match selected {
        Some(r) => match &r.lift {
            Some(lift) => Line::styled(format!("allow: {lift}"), Style::new().fg(Color::Red)),
            None => Line::styled(format!("{} is not blocked", r.session_id), dim),
        },
        None => Line::styled(String::new(), dim),
    };
    let summary = Line::styled(
        format!("{} session(s) today, {blocked} blocked", s.sessions.len()),
        if blocked > 0 { Style::new().fg(Color::Red) } else { dim },
    );

    // Alerts and breaker trips.
    let mut events: Vec<Line> = vec![Line::styled("last alerts and breaker trips", bold)];
    if frame.events.is_empty() {
        events.push(Line::styled("  none", dim));
    }
    for e in &frame.events {
        // The first sentence of the reason, without the program's name.
        let detail = e.detail.strip_prefix("ccbreaker: ").unwrap_or(&e.detail);
        let detail = detail.split_once(". ").map_or(detail, |(first, _)| first);
        let line = format!(
            "  {} {:<6} {:<8} {}",
            local(&e.at, zone, "%m-%d %H:%M"),
            e.kind,
            e.session.as_deref().map(|s| s.chars().take(8).collect::<String>()).unwrap_or_default(),
            detail
        );
        let line = cut(&line, width);
        events.push(Line::styled(line, if e.kind == "alert" { Style::new() } else { Style::new().fg(Color::Red) }));
    }
    let footer = Line::styled("q quit  tab view  up/down select", dim);

    let mut out: Vec<Line> = Vec::new();
    match VIEWS[ui.view] {
        "sessions" => {
            out.extend(top.into_iter().take(1));
            out.push(summary);
            out.extend(table);
            out.push(allow);
        }
        "alerts" => {
            out.extend(top.into_iter().take(1));
            out.extend(events);
        }
        _ => {
            let Some(height) = height.map(usize::from) else {
                out.extend(top);
                out.extend(extra);
                out.push(summary);
                out.extend(table);
                out.push(allow);
                out.extend(events);
                return out;
            };
            // The screen: budgets and burn always; then the sessions (at least the selected one), the allow
            // command, the block and plan, then as many alerts as fit.
            let fixed = top.len() + 2 + 1;
            let mut room = height.saturating_sub(fixed);
            let extra_fit = extra.len().min(room.saturating_sub(3));
            room -= extra_fit;
            let events_fit = if room > 8 { (room - 8).min(events.len()) } else { 0 };
            room -= events_fit;
            let rows = room.saturating_sub(1).max(1);
            out.extend(top);
            out.extend(extra.into_iter().take(extra_fit));
            out.push(summary);
            let first = ui.selected.saturating_sub(rows.saturating_sub(2));
            let mut table = table.into_iter();
            out.extend(table.next());
            out.extend(table.skip(first).take(rows.saturating_sub(1)));
            out.push(allow);
            out.extend(events.into_iter().take(events_fit));
        }
    }
    if let Some(height) = height {
        out.truncate(usize::from(height).saturating_sub(1));
        while out.len() + 1 < usize::from(height) {
            out.push(Line::default());
        }
        out.push(footer);
    }
    out
}

/// Lines as text: each span's colour as an ANSI code when `color`, trailing blanks trimmed.
fn text(lines: &[Line], color: bool) -> String {
    let mut out = String::new();
    for line in lines {
        let mut row = String::new();
        for span in &line.spans {
            let style = line.style.patch(span.style);
            let code = match style.fg {
                Some(Color::Red) => Some("31"),
                Some(Color::Yellow) => Some("33"),
                Some(Color::Green) => Some("32"),
                _ if style.add_modifier.contains(Modifier::BOLD) => Some("1"),
                _ => None,
            };
            match code {
                Some(code) if color => row.push_str(&format!("\x1b[{code}m{}\x1b[0m", span.content)),
                _ => row.push_str(&span.content),
            }
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_minutes_hours_or_days() {
        assert_eq!(duration(0.4), "0m");
        assert_eq!(duration(59.0), "59m");
        assert_eq!(duration(68.0), "1h08m");
        assert_eq!(duration(47.0 * 60.0 + 59.0), "47h59m");
        assert_eq!(duration(3.0 * 24.0 * 60.0), "3d");
    }

    #[test]
    fn text_is_cut_with_an_ellipsis_and_coloured_only_when_asked() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        let lines =
            [Line::from(vec![Span::raw("a "), Span::styled("OVER", Style::new().fg(Color::Red)), Span::raw("  ")])];
        assert_eq!(text(&lines, false), "a OVER\n");
        assert_eq!(text(&lines, true), "a \x1b[31mOVER\x1b[0m\n");
    }
}
