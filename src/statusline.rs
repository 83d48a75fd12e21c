//! The statusline's one line, as a pure function of what it shows: the session's spend of its budget, the day's,
//! the nearest of any other budget (whatever scopes there are: the renderer takes a list), plan usage, and a marker
//! when the session is blocked; each coloured by its zone (safe, warn from `budget.warn_at`, over from the limit),
//! and fitted to the width by shortening, then dropping, the least important parts.

use crate::usage::Pico;

/// One budget or plan window, as the line shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gauge {
    /// What it is called, in full (`session`, `today`, `5h`) and at its shortest (`s`, `d`, `5h`).
    pub name: String,
    pub short: String,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    /// Spend against a limit; `approx` when it is Claude Code's own estimate (no hook has counted it yet).
    Money { spent: Pico, limit: Pico, approx: bool },
    /// A plan window's used percentage.
    Percent(f64),
}

impl Gauge {
    /// Spent over the limit (1.0 = the limit).
    pub(crate) fn fraction(&self) -> f64 {
        match self.value {
            Value::Money { spent, limit, .. } => spent.0 as f64 / limit.0.max(1) as f64,
            Value::Percent(p) => p / 100.0,
        }
    }
}

/// What the line is made of.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Meter {
    pub session: Option<Gauge>,
    pub day: Option<Gauge>,
    /// Every other budget in force (the nearest to its limit is shown).
    pub others: Vec<Gauge>,
    /// Plan windows from `rate_limits`.
    pub plan: Vec<Gauge>,
    /// The session is blocked (or refused as tampered): why, in a word or two.
    pub blocked: Option<String>,
    /// A notice instead of figures (no hook has run, the config cannot be read).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Safe,
    Warn,
    Over,
}

fn zone(g: &Gauge, warn_at: f64) -> Zone {
    let f = g.fraction();
    if f >= 1.0 {
        Zone::Over
    } else if warn_at > 0.0 && warn_at < 1.0 && f >= warn_at {
        Zone::Warn
    } else {
        Zone::Safe
    }
}

/// How much of each part to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// `session $1.23 / $20.00`
    Full,
    /// `s $1.23/20`
    Short,
}

/// The line, at most `width` columns wide (ANSI colours do not count), coloured when `color`.
pub(crate) fn render(meter: &Meter, warn_at: f64, width: usize, color: bool) -> String {
    if let Some(note) = &meter.note {
        return fit(&[Part { text: format!("ccbreaker: {note}"), code: "2" }], width, color);
    }
    let nearest = meter.others.iter().max_by(|a, b| a.fraction().total_cmp(&b.fraction()));
    // In order of importance: what is dropped last comes first.
    let gauges: Vec<&Gauge> =
        [meter.session.as_ref(), meter.day.as_ref(), nearest].into_iter().flatten().chain(meter.plan.iter()).collect();
    // As many parts as fit, written out in full if they can be.
    for keep in (1..=gauges.len()).rev() {
        for detail in [Detail::Full, Detail::Short] {
            let mut parts = Vec::new();
            if let Some(why) = &meter.blocked {
                let text = if detail == Detail::Full { format!("BLOCKED: {why}") } else { "BLOCKED".to_owned() };
                parts.push(Part { text, code: "1;97;41" });
            }
            parts.extend(gauges[..keep].iter().map(|g| part(g, detail, warn_at)));
            if width_of(&parts) <= width || (detail == Detail::Short && keep == 1) {
                return fit(&parts, width, color);
            }
        }
    }
    String::new()
}

struct Part {
    text: String,
    /// The SGR code of its colour.
    code: &'static str,
}

fn part(g: &Gauge, detail: Detail, warn_at: f64) -> Part {
    let code = match zone(g, warn_at) {
        Zone::Safe => "32",
        Zone::Warn => "33",
        Zone::Over => "1;31",
    };
    let text = match (g.value, detail) {
        (Value::Money { spent, limit, approx }, Detail::Full) => {
            let tilde = if approx { "~" } else { "" };
            format!("{} {tilde}{spent} / {}", g.name, whole(limit))
        }
        (Value::Money { spent, limit, approx }, Detail::Short) => {
            let tilde = if approx { "~" } else { "" };
            format!("{} {tilde}{}/{}", g.short, short(spent), whole(limit).trim_start_matches('$'))
        }
        (Value::Percent(p), Detail::Full) => format!("{} {p:.0}%", g.name),
        (Value::Percent(p), Detail::Short) => format!("{}{p:.0}%", g.short),
    };
    Part { text, code }
}

/// `$20` for a whole number of dollars, else `$20.50`.
fn whole(p: Pico) -> String {
    let usd = p.usd();
    if usd.fract() == 0.0 && usd < 1e12 { format!("${usd:.0}") } else { format!("${usd:.2}") }
}

/// `$1.23`, `$123`, `$1.2k`.
fn short(p: Pico) -> String {
    let usd = p.usd();
    if usd >= 10_000.0 {
        format!("${:.0}k", usd / 1000.0)
    } else if usd >= 1000.0 {
        format!("${:.1}k", usd / 1000.0)
    } else if usd >= 100.0 {
        format!("${usd:.0}")
    } else {
        format!("${usd:.2}")
    }
}

const SEPARATOR: &str = " · ";

fn width_of(parts: &[Part]) -> usize {
    let text: usize = parts.iter().map(|p| p.text.chars().count()).sum();
    text + SEPARATOR.chars().count() * parts.len().saturating_sub(1)
}

/// The parts joined, cut to `width` (with an ellipsis) if they still do not fit.
fn fit(parts: &[Part], width: usize, color: bool) -> String {
    let mut out = String::new();
    let mut left = width;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            if left <= SEPARATOR.chars().count() {
                break;
            }
            out.push_str(SEPARATOR);
            left -= SEPARATOR.chars().count();
        }
        let n = p.text.chars().count();
        let text = if n <= left {
            p.text.clone()
        } else if left > 0 {
            let mut t: String = p.text.chars().take(left - 1).collect();
            t.push('…');
            t
        } else {
            break;
        };
        left -= text.chars().count();
        if color {
            out.push_str(&format!("\x1b[{}m{text}\x1b[0m", p.code));
        } else {
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(name: &str, short: &str, spent: f64, limit: f64) -> Gauge {
        Gauge {
            name: name.into(),
            short: short.into(),
            value: Value::Money { spent: Pico::from_usd(spent), limit: Pico::from_usd(limit), approx: false },
        }
    }

    fn meter() -> Meter {
        Meter {
            session: Some(money("session", "s", 1.234, 20.0)),
            day: Some(money("today", "d", 41.0, 50.0)),
            others: vec![money("week", "w", 10.0, 200.0), money("month", "m", 180.0, 200.0)],
            plan: vec![Gauge { name: "5h".into(), short: "5h".into(), value: Value::Percent(42.4) }],
            blocked: None,
            note: None,
        }
    }

    #[test]
    fn the_whole_line_when_it_fits() {
        assert_eq!(
            render(&meter(), 0.8, 200, false),
            "session $1.23 / $20 · today $41.00 / $50 · month $180.00 / $200 · 5h 42%"
        );
    }

    #[test]
    fn zones_colour_each_part() {
        let line = render(&meter(), 0.8, 200, true);
        assert!(line.starts_with("\x1b[32msession $1.23 / $20\x1b[0m"), "{line:?}");
        assert!(line.contains("\x1b[33mtoday $41.00 / $50\x1b[0m"), "{line:?}");
        let mut over = meter();
        over.session = Some(money("session", "s", 21.0, 20.0));
        over.blocked = Some("session budget".into());
        let line = render(&over, 0.8, 200, true);
        assert!(
            line.starts_with("\x1b[1;97;41mBLOCKED: session budget\x1b[0m · \x1b[1;31msession $21.00 / $20"),
            "{line:?}"
        );
    }

    #[test]
    fn a_narrow_terminal_drops_the_least_important_parts_first() {
        let m = meter();
        assert_eq!(render(&m, 0.8, 60, false), "s $1.23/20 · d $41.00/50 · m $180/200 · 5h42%");
        assert_eq!(render(&m, 0.8, 45, false), "s $1.23/20 · d $41.00/50 · m $180/200 · 5h42%");
        assert_eq!(render(&m, 0.8, 44, false), "s $1.23/20 · d $41.00/50 · m $180/200");
        assert_eq!(render(&m, 0.8, 30, false), "s $1.23/20 · d $41.00/50");
        assert_eq!(render(&m, 0.8, 8, false), "s $1.23…");
        for width in 1..120 {
            let line = render(&m, 0.8, width, false);
            assert!(line.chars().count() <= width, "{width}: {line:?}");
        }
    }

    #[test]
    fn a_note_stands_alone() {
        let m = Meter { note: Some("no hook has run yet".into()), ..Meter::default() };
        assert_eq!(render(&m, 0.8, 80, false), "ccbreaker: no hook has run yet");
    }
}
