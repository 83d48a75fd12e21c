//! Text for people: thousands separators, aligned tables, and colour only when stdout is a terminal and
//! `NO_COLOR` is unset (<https://no-color.org>).

/// 1234567 -> "1,234,567".
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether output may carry ANSI colours: only on a terminal, and never with `NO_COLOR` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    pub color: bool,
}

impl Style {
    pub(crate) fn new(stdout_is_terminal: bool, no_color: bool) -> Style {
        Style { color: stdout_is_terminal && !no_color }
    }

    /// `text` in the SGR `code` (e.g. `1` bold, `2` dim, `1;33` bold yellow).
    pub(crate) fn paint(self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// What a table row is, which decides its style and the rules drawn around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowKind {
    Body,
    /// A part of the body row above it (e.g. one model's share), dimmed.
    Detail,
    /// The sum, after a rule, in bold.
    Total,
}

/// Columns aligned to their widest cell, two spaces apart, with a rule under the header and above the totals.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<(RowKind, Vec<String>)>,
}

impl Table {
    pub(crate) fn new(headers: &[(&str, Align)]) -> Table {
        Table { headers: headers.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(), rows: Vec::new() }
    }

    pub(crate) fn row(&mut self, kind: RowKind, cells: Vec<String>) {
        self.rows.push((kind, cells));
    }

    pub(crate) fn render(&self, style: Style) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| h.chars().count()).collect();
        for (_, cells) in &self.rows {
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, ((_, align), width)) in self.headers.iter().zip(&widths).enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                if i > 0 {
                    out.push_str("  ");
                }
                match align {
                    Align::Left if i + 1 == columns => out.push_str(cell),
                    Align::Left => out.push_str(&format!("{cell:<width$}")),
                    Align::Right => out.push_str(&format!("{cell:>width$}")),
                }
            }
            out.trim_end().to_owned()
        };
        // The last column is left-aligned and unpadded: the rule stops at its header.
        let last_header = self.headers.last().map_or(0, |(h, _)| h.chars().count());
        let rule_width = widths[..columns.saturating_sub(1)].iter().map(|w| w + 2).sum::<usize>() + last_header;
        let rule = "-".repeat(rule_width);
        let headers: Vec<String> = self.headers.iter().map(|(h, _)| h.clone()).collect();
        let mut out = String::new();
        out.push_str(&style.paint("1", &line(&headers)));
        out.push('\n');
        out.push_str(&rule);
        out.push('\n');
        for (kind, cells) in &self.rows {
            let text = line(cells);
            let text = match kind {
                RowKind::Body => text,
                RowKind::Detail => style.paint("2", &text),
                RowKind::Total => {
                    out.push_str(&rule);
                    out.push('\n');
                    style.paint("1;33", &text)
                }
            };
            out.push_str(&text);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(48_297_179), "48,297,179");
    }

    #[test]
    fn tables_align_and_colour_only_when_asked() {
        use super::{Align, RowKind, Style, Table};
        let mut table = Table::new(&[("Date", Align::Left), ("Cost", Align::Right), ("Models", Align::Left)]);
        table.row(RowKind::Body, vec!["2026-11-24".into(), "$1.00".into(), "a, b".into()]);
        table.row(RowKind::Detail, vec!["  a".into(), "$0.25".into(), String::new()]);
        table.row(RowKind::Total, vec!["Total".into(), "$10.00".into(), String::new()]);
        let plain = table.render(Style::new(true, true));
        let want = [
            "Date          Cost  Models",
            "--------------------------",
            "2026-11-24   $1.00  a, b",
            "  a          $0.25",
            "--------------------------",
            "Total       $10.00",
        ];
        assert_eq!(plain, want.map(|l| format!("{l}\n")).concat());
        assert!(!plain.contains('\x1b'));
        assert!(table.render(Style::new(true, false)).contains("\x1b[1;33mTotal"));
        assert!(!table.render(Style::new(false, false)).contains('\x1b'));
    }
}
