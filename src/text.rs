//! Text for people: thousands separators, aligned tables, and colour only when stdout is a terminal and
//! `NO_COLOR` is unset (<https://no-color.org>).

/// A time as every JSON field and message shows it: RFC 3339 in UTC with `Z` (`2026-11-24T12:00:00Z`; fractions
/// of a second only when there are any).
pub(crate) fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

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
    /// How each column gives way to a narrow terminal: dropped (in rank order) or shortened to a width.
    fit: Vec<Fit>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Fit {
    /// 0: never dropped; otherwise dropped after the columns of lower rank.
    drop_rank: u8,
    /// Cells cut to this many characters (with an ellipsis) before any column is dropped.
    shorten_to: Option<usize>,
}

/// How wide a table may be, and whether to take the narrow form whatever the width (`--compact`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Width {
    pub columns: Option<usize>,
    pub compact: bool,
}

impl Width {
    /// The terminal's width when stdout is one, else `COLUMNS` if set (none: tables are as wide as they are).
    pub(crate) fn of(stdout_is_terminal: bool, env: &crate::env::Env, compact: bool) -> Width {
        let terminal = stdout_is_terminal
            .then(|| terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0)))
            .flatten();
        Width { columns: terminal.or_else(|| env.columns()), compact }
    }
}

impl Table {
    pub(crate) fn new(headers: &[(&str, Align)]) -> Table {
        Table {
            headers: headers.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            rows: Vec::new(),
            fit: vec![Fit::default(); headers.len()],
        }
    }

    pub(crate) fn row(&mut self, kind: RowKind, cells: Vec<String>) {
        self.rows.push((kind, cells));
    }

    /// Column `header` may be dropped to fit a narrow terminal, after those of a lower `rank`.
    pub(crate) fn droppable(&mut self, header: &str, rank: u8) -> &mut Table {
        if let Some(i) = self.headers.iter().position(|(h, _)| h == header) {
            self.fit[i].drop_rank = rank;
        }
        self
    }

    /// Column `header`'s cells may be cut to `width` characters to fit a narrow terminal.
    pub(crate) fn shortenable(&mut self, header: &str, width: usize) -> &mut Table {
        if let Some(i) = self.headers.iter().position(|(h, _)| h == header) {
            self.fit[i].shorten_to = Some(width.max(2));
        }
        self
    }

    /// The table fitted to `width`: cells shortened, then columns dropped (with `compact`: all of them, whatever
    /// the width), then the last column cut; a line under it says what was left out.
    pub(crate) fn render_fit(&self, style: Style, width: Width) -> String {
        if width.columns.is_none() && !width.compact {
            return self.render(style);
        }
        let too_wide = |t: &Table| width.columns.is_some_and(|w| t.width() > w);
        let mut table = self.clone();
        let mut shortened = Vec::new();
        let mut dropped = Vec::new();
        if width.compact || too_wide(&table) {
            for i in 0..table.headers.len() {
                if let Some(n) = table.fit[i].shorten_to
                    && table.shorten(i, n)
                {
                    shortened.push(table.headers[i].0.clone());
                }
            }
        }
        let mut ranks: Vec<u8> = table.fit.iter().map(|f| f.drop_rank).filter(|r| *r > 0).collect();
        ranks.sort_unstable();
        ranks.dedup();
        for rank in ranks {
            if !width.compact && !too_wide(&table) {
                break;
            }
            while let Some(i) = table.fit.iter().position(|f| f.drop_rank == rank) {
                dropped.push(table.headers[i].0.clone());
                table.remove(i);
            }
        }
        if let Some(columns) = width.columns
            && too_wide(&table)
        {
            let last = table.headers.len() - 1;
            let others = table.width() - table.column_width(last);
            if table.headers[last].1 == Align::Left && columns > others + 8 && table.shorten(last, columns - others) {
                shortened.push(table.headers[last].0.clone());
            }
        }
        let mut out = table.render(style);
        let mut said = Vec::new();
        if !dropped.is_empty() {
            said.push(format!("{} left out", dropped.join(", ")));
        }
        if !shortened.is_empty() {
            said.push(format!("{} shortened", shortened.join(", ")));
        }
        if !said.is_empty() {
            let why = match width.columns {
                Some(w) if !width.compact => format!("to fit {w} columns"),
                _ => "--compact".to_owned(),
            };
            out.push_str(&style.paint("2", &format!("({why}: {}; --json has every field)", said.join("; "))));
            out.push('\n');
        }
        out
    }

    fn column_width(&self, i: usize) -> usize {
        let header = self.headers[i].0.chars().count();
        self.rows.iter().filter_map(|(_, cells)| cells.get(i)).map(|c| c.chars().count()).fold(header, usize::max)
    }

    /// The rendered width: every column and the two spaces between them.
    fn width(&self) -> usize {
        let n = self.headers.len();
        (0..n).map(|i| self.column_width(i)).sum::<usize>() + 2 * n.saturating_sub(1)
    }

    /// Cuts column `i`'s cells to `n` characters; whether any was cut.
    fn shorten(&mut self, i: usize, n: usize) -> bool {
        let mut cut_any = false;
        for (_, cells) in &mut self.rows {
            if let Some(cell) = cells.get_mut(i)
                && cell.chars().count() > n
            {
                let mut cut: String = cell.chars().take(n.saturating_sub(1)).collect();
                cut.push('…');
                *cell = cut;
                cut_any = true;
            }
        }
        cut_any
    }

    fn remove(&mut self, i: usize) {
        self.headers.remove(i);
        self.fit.remove(i);
        for (_, cells) in &mut self.rows {
            if i < cells.len() {
                cells.remove(i);
            }
        }
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

    #[test]
    fn a_narrow_width_shortens_then_drops_then_cuts_and_says_so() {
        use super::{Align, RowKind, Style, Table, Width};
        let mut t = Table::new(&[
            ("Session", Align::Left),
            ("Input", Align::Right),
            ("Cost", Align::Right),
            ("Models", Align::Left),
        ]);
        t.row(
            RowKind::Body,
            vec!["0123456789abcdef".into(), "1,000".into(), "$1.00".into(), "opus-4-5, sonnet-4-5".into()],
        );
        t.droppable("Input", 1).shortenable("Session", 9);
        let plain = Style::new(false, false);
        let fit = |columns, compact| t.render_fit(plain, Width { columns, compact });
        assert_eq!(fit(None, false), t.render(plain));
        assert_eq!(fit(Some(80), false), t.render(plain), "it fits: nothing changes");
        let narrow = fit(Some(40), false);
        assert_eq!(
            narrow.lines().collect::<Vec<_>>(),
            [
                "Session     Cost  Models",
                "------------------------",
                "01234567…  $1.00  opus-4-5, sonnet-4-5",
                "(to fit 40 columns: Input left out; Session shortened; --json has every field)",
            ]
        );
        let cut = fit(Some(30), false);
        assert!(cut.lines().all(|l| l.starts_with('(') || l.chars().count() <= 30), "{cut}");
        assert!(fit(None, true).contains("(--compact: Input left out; Session shortened;"));
    }
}
