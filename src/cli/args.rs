//! A minimal argument reader: words, `--flag`, `--key value` and `--key=value`, with errors that name the
//! argument. The short flags ccusage users type (`-j`, `-s`, `-u`, `-z`, `-b`, `-h`) are read as their long forms;
//! everything after `--` is left as it is (`exec -- COMMAND...`).

use crate::error::Error;
use std::ffi::OsString;

/// The short flags and the long ones they stand for.
const SHORT: [(&str, &str); 6] = [
    ("-j", "--json"),
    ("-s", "--since"),
    ("-u", "--until"),
    ("-z", "--timezone"),
    ("-b", "--breakdown"),
    ("-h", "--help"),
];

pub(super) struct Args {
    rest: std::collections::VecDeque<String>,
}

impl Args {
    pub(super) fn new(args: Vec<OsString>) -> Args {
        let mut rest = std::collections::VecDeque::with_capacity(args.len());
        let mut verbatim = false;
        for arg in args {
            let arg = arg.to_string_lossy().into_owned();
            if !verbatim && arg == "--" {
                verbatim = true;
            }
            let long = if verbatim { None } else { SHORT.iter().find(|(short, _)| *short == arg) };
            rest.push_back(long.map_or(arg, |(_, long)| (*long).to_owned()));
        }
        Args { rest }
    }

    /// The next argument if it is not an option.
    pub(super) fn next_word(&mut self) -> Result<Option<String>, Error> {
        match self.rest.front() {
            Some(word) if !word.starts_with('-') || word == "-V" || word == "--help" || word == "--version" => {
                Ok(self.rest.pop_front())
            }
            _ => Ok(None),
        }
    }

    /// Whether `--help` (or `-h`) is among the arguments before `--`; it is removed.
    pub(super) fn help(&mut self) -> bool {
        let end = self.rest.iter().position(|a| a == "--").unwrap_or(self.rest.len());
        match self.rest.iter().take(end).position(|a| a == "--help") {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes `--name` if present.
    pub(super) fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes `--name VALUE` or `--name=VALUE` if present.
    pub(super) fn value(&mut self, name: &str) -> Result<Option<String>, Error> {
        let prefix = format!("{name}=");
        if let Some(i) = self.rest.iter().position(|a| a.starts_with(&prefix)) {
            let arg = self.rest.remove(i).unwrap_or_default();
            return Ok(Some(arg[prefix.len()..].to_owned()));
        }
        let Some(i) = self.rest.iter().position(|a| a == name) else { return Ok(None) };
        self.rest.remove(i);
        match self.rest.remove(i) {
            Some(value) if !value.starts_with("--") => Ok(Some(value)),
            _ => Err(Error::usage(format!("`{name}` needs a value"))),
        }
    }

    /// Removes every `--name V1 [V2 ...]` (values up to the next option) and `--name=V`; the values in order.
    pub(super) fn values(&mut self, name: &str) -> Result<Vec<String>, Error> {
        let prefix = format!("{name}=");
        let mut values = Vec::new();
        let mut i = 0;
        while i < self.rest.len() {
            if let Some(value) = self.rest[i].strip_prefix(&prefix) {
                values.push(value.to_owned());
                self.rest.remove(i);
            } else if self.rest[i] == name {
                self.rest.remove(i);
                let before = values.len();
                while i < self.rest.len() && !self.rest[i].starts_with("--") {
                    values.extend(self.rest.remove(i));
                }
                if values.len() == before {
                    return Err(Error::usage(format!("`{name}` needs a value")));
                }
            } else {
                i += 1;
            }
        }
        Ok(values)
    }

    /// Everything after `--`, which is removed with it; `None` without `--`.
    pub(super) fn after_separator(&mut self) -> Option<Vec<String>> {
        let i = self.rest.iter().position(|a| a == "--")?;
        let tail: Vec<String> = self.rest.drain(i..).skip(1).collect();
        Some(tail)
    }

    /// Everything not taken yet, in order.
    pub(super) fn into_rest(self) -> Vec<String> {
        self.rest.into()
    }

    /// Fails on anything left over.
    pub(super) fn finish(self) -> Result<(), Error> {
        match self.rest.front() {
            None => Ok(()),
            Some(extra) => Err(Error::usage(format!("unexpected argument `{extra}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args::new(words.iter().map(OsString::from).collect())
    }

    #[test]
    fn short_flags_are_their_long_forms_until_the_separator() {
        let mut a = args(&["daily", "-j", "-s", "2026-11-01", "-z", "UTC", "--", "-j"]);
        assert_eq!(a.next_word().unwrap().as_deref(), Some("daily"));
        assert!(a.flag("--json"));
        assert_eq!(a.value("--since").unwrap().as_deref(), Some("2026-11-01"));
        assert_eq!(a.value("--timezone").unwrap().as_deref(), Some("UTC"));
        assert_eq!(a.after_separator(), Some(vec!["-j".to_owned()]));
        a.finish().unwrap();
    }

    #[test]
    fn help_is_found_anywhere_before_the_separator() {
        let mut a = args(&["daily", "-h"]);
        assert!(a.help());
        let mut a = args(&["exec", "--", "claude", "--help"]);
        assert!(!a.help());
    }
}
