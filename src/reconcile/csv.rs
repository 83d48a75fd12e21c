//! The console's exports (Usage and Cost pages, "Export"), as a [`Bill`]. Which export a file is, and which of the
//! column sets Anthropic has shipped, is read from its header, never from its name or column positions:
//!
//! | export | required columns | column sets seen |
//! |---|---|---|
//! | usage | `usage_date_utc`, `model_version`, `usage_input_tokens_no_cache`, `usage_input_tokens_cache_write_5m`, `usage_input_tokens_cache_write_1h`, `usage_input_tokens_cache_read`, `usage_output_tokens` | 2025: those with `api_key`, `workspace`, `usage_type`, `web_search_count`; 2026: plus `context_window`, `inference_geo`, `speed` |
//! | cost | `usage_date_utc`, `model`, `token_type`, `cost_usd` | early: `workspace`, `api_key`, `usage_type`, `context_window`; 2026: plus `list_price_usd`, `cost_type`, `inference_geo`, `speed`; from mid-2026 also `api_key_id`, `api_key_status` |
//!
//! Days may be written `2026-11-03` or, in hourly exports, `2026-11-03 14:00` (UTC either way). Tokens are whole
//! numbers and `cost_usd` dollars. Two exports of one kind with rows for the same day are refused, so that
//! overlapping downloads are never counted twice.

use super::{Bill, Cell, Class, CsvFile, RowKey};
use crate::correction::model_key;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum CsvError {
    #[error("could not read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{path}` is not a console usage or cost export: its header is `{header}`; ccbreaker reads the usage export (usage_date_utc, model_version, usage_input_tokens_no_cache, ...) and the cost export (usage_date_utc, model, token_type, cost_usd, ...)"
    )]
    Unknown { path: PathBuf, header: String },
    #[error("`{path}` line {line}: `{column}` must be {expected}, got {value:?}")]
    Value { path: PathBuf, line: usize, column: &'static str, expected: &'static str, value: String },
    #[error("`{path}` line {line}: a quoted field is not closed")]
    Quote { path: PathBuf, line: usize },
    #[error("`{first}` and `{second}` are both {kind} exports with rows for {date}: pass each day once")]
    Overlap { kind: &'static str, date: NaiveDate, first: PathBuf, second: PathBuf },
}

/// What kind of export a header is, and which column set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Export {
    Usage(&'static str),
    Cost(&'static str),
}

const USAGE_REQUIRED: [&str; 7] = [
    "usage_date_utc",
    "model_version",
    "usage_input_tokens_no_cache",
    "usage_input_tokens_cache_write_5m",
    "usage_input_tokens_cache_write_1h",
    "usage_input_tokens_cache_read",
    "usage_output_tokens",
];
const COST_REQUIRED: [&str; 4] = ["usage_date_utc", "model", "token_type", "cost_usd"];

fn detect(header: &[String]) -> Option<Export> {
    let has = |name: &str| header.iter().any(|h| h == name);
    if USAGE_REQUIRED.iter().all(|c| has(c)) {
        return Some(Export::Usage(if has("inference_geo") || has("context_window") || has("speed") {
            "usage, 2026 columns (with context_window, inference_geo, speed)"
        } else {
            "usage, 2025 columns"
        }));
    }
    if COST_REQUIRED.iter().all(|c| has(c)) {
        return Some(Export::Cost(if has("api_key_id") {
            "cost, 2026 columns with api_key_id and api_key_status"
        } else if has("list_price_usd") || has("inference_geo") || has("cost_type") {
            "cost, 2026 columns (with list_price_usd, cost_type, inference_geo, speed)"
        } else {
            "cost, early columns"
        }));
    }
    None
}

/// Reads every file in `paths` into one bill.
pub(crate) fn read(paths: &[PathBuf]) -> Result<(Bill, Vec<CsvFile>), CsvError> {
    let mut bill = Bill::default();
    let mut files = Vec::new();
    // Which file gave each day, per kind: two exports of one kind for one day would be counted twice.
    let mut owners: BTreeMap<(&'static str, NaiveDate), PathBuf> = BTreeMap::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| CsvError::Read { path: path.clone(), source })?;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let records = records(text, path)?;
        let Some(((_, header), rows)) = records.split_first() else {
            return Err(CsvError::Unknown { path: path.clone(), header: String::new() });
        };
        let header: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        let export =
            detect(&header).ok_or_else(|| CsvError::Unknown { path: path.clone(), header: header.join(", ") })?;
        let column = |name: &str| header.iter().position(|h| h == name);
        let (kind, columns) = match export {
            Export::Usage(columns) => ("usage", columns),
            Export::Cost(columns) => ("cost", columns),
        };
        let mut days = std::collections::BTreeSet::new();
        let mut count = 0;
        for (line, row) in rows {
            if row.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let field = |name: &str| column(name).and_then(|i| row.get(i)).map_or("", |f| f.trim());
            let bad = |column: &'static str, expected: &'static str| CsvError::Value {
                path: path.clone(),
                line: *line,
                column,
                expected,
                value: field(column).to_owned(),
            };
            let date = field("usage_date_utc")
                .get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| bad("usage_date_utc", "a date like 2026-11-03"))?;
            let mut cell = Cell::default();
            let model = match export {
                Export::Usage(_) => {
                    let columns: [(&'static str, Class); 6] = [
                        ("usage_input_tokens_no_cache", Class::Input),
                        ("usage_input_tokens_cache_write_5m", Class::CacheWrite5m),
                        ("usage_input_tokens_cache_write_1h", Class::CacheWrite1h),
                        ("usage_input_tokens_cache_read", Class::CacheRead),
                        ("usage_output_tokens", Class::Output),
                        ("web_search_count", Class::WebSearch),
                    ];
                    for (name, class) in columns {
                        let text = field(name);
                        cell.tokens[class.index()] = if text.is_empty() {
                            0
                        } else {
                            text.parse().map_err(|_| bad(name, "a whole number of tokens"))?
                        };
                    }
                    field("model_version")
                }
                Export::Cost(_) => {
                    let usd =
                        decimal_scaled(field("cost_usd"), 12).ok_or_else(|| bad("cost_usd", "an amount in USD"))?;
                    cell.usd[cost_class(field("cost_type"), field("token_type")).index()] = usd;
                    field("model")
                }
            };
            let model = if model.is_empty() { super::admin::UNATTRIBUTED.to_owned() } else { model_key(model) };
            bill.add(RowKey { date, model, session: None }, &cell);
            days.insert(date);
            count += 1;
        }
        for date in days {
            if let Some(first) = owners.insert((kind, date), path.clone()) {
                return Err(CsvError::Overlap { kind, date, first, second: path.clone() });
            }
        }
        match export {
            Export::Usage(_) => bill.has_tokens = true,
            Export::Cost(_) => bill.has_usd = true,
        }
        files.push(CsvFile { path: path.clone(), kind, columns, rows: count });
    }
    Ok((bill, files))
}

/// The class of a cost export row.
fn cost_class(cost_type: &str, token_type: &str) -> Class {
    match cost_type {
        "web_search" => return Class::WebSearch,
        "" | "token" | "tokens" => {}
        _ => return Class::Other,
    }
    match token_type {
        "input_no_cache" => Class::Input,
        "input_cache_write_5m" => Class::CacheWrite5m,
        "input_cache_write_1h" => Class::CacheWrite1h,
        "input_cache_read" => Class::CacheRead,
        "output" => Class::Output,
        "web_search" => Class::WebSearch,
        _ => Class::Other,
    }
}

/// A decimal number as an integer in units of 10^-`scale` (`"1.5"` at scale 2 is 150); digits past the scale are
/// rounded. `None` if it is not a plain decimal number or does not fit.
pub(crate) fn decimal_scaled(text: &str, scale: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut value: i128 = 0;
    for b in whole.bytes() {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let mut fraction = fraction.bytes();
    for _ in 0..scale {
        let digit = fraction.next().map_or(0, |b| i128::from(b - b'0'));
        value = value.checked_mul(10)?.checked_add(digit)?;
    }
    if fraction.next().is_some_and(|b| b >= b'5') {
        value += 1;
    }
    let value = i64::try_from(value).ok()?;
    Some(if negative { -value } else { value })
}

/// The records of a CSV text (RFC 4180: quoted fields may hold commas, quotes doubled, and line breaks), each with
/// its first line number.
fn records(text: &str, path: &Path) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let (mut line, mut start) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut record)));
                line += 1;
                start = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(CsvError::Quote { path: path.to_path_buf(), line: start });
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start, record));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_scale_exactly() {
        assert_eq!(decimal_scaled("123.45", 10), Some(1_234_500_000_000));
        assert_eq!(decimal_scaled("0.05", 12), Some(50_000_000_000));
        assert_eq!(decimal_scaled("-1.5", 2), Some(-150));
        assert_eq!(decimal_scaled("7", 2), Some(700));
        assert_eq!(decimal_scaled("0.125", 2), Some(13));
        for bad in ["", ".", "1e5", "1.2.3", "abc", "99999999999999999999"] {
            assert_eq!(decimal_scaled(bad, 12), None, "{bad}");
        }
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_breaks() {
        let text = "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z";
        let got = records(text, Path::new("/f.csv")).unwrap();
        assert_eq!(got[1], (2, vec!["x, y".to_owned(), "say \"hi\"".to_owned()]));
        assert_eq!(got[2], (3, vec!["two\nlines".to_owned(), "z".to_owned()]));
        assert!(matches!(records("a,\"b", Path::new("/f.csv")), Err(CsvError::Quote { line: 1, .. })));
    }
}
