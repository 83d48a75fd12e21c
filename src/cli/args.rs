//! A minimal argument reader: words, `--flag`, `--key value` and `--key=value`, with errors that name the
//! argument.

use crate::error::Error;
use std::ffi::OsString;

pub(super) struct Args {
    rest: std::collections::VecDeque<String>,
}

impl Args {
    pub(super) fn new(args: Vec<OsString>) -> Args {
        Args { rest: args.into_iter().map(|a| a.to_string_lossy().into_owned()).collect() }
    }

    /// The next argument if it is not an option.
    pub(super) fn next_word(&mut self) -> Result<Option<String>, Error> {
        match self.rest.front() {
            Some(word) if !word.starts_with('-') || word == "-h" || word == "-V" || word.starts_with("--h") => {
                Ok(self.rest.pop_front())
            }
            Some(word) if word == "--version" => Ok(self.rest.pop_front()),
            _ => Ok(None),
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
