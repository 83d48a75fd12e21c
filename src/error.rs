//! The boundary error: everything a command can fail with, one report that keeps every cause, and the one place
//! that decides exit codes. Domain modules keep their own thiserror enums (`ConfigError`, `LedgerError`, ...);
//! they meet here, and nothing on the way flattens them to text.

use crate::config::ConfigError;
use crate::correction::CorrectionError;
use crate::hook::event::EventError;
use crate::install::InstallError;
use crate::ledger::LedgerError;
use crate::ledger::keys::KeysError;
use crate::locked::LockedError;
use crate::reconcile::ReconcileError;
use std::io;
use std::path::PathBuf;

/// Exit codes of every ccbreaker command.
pub(crate) mod exit {
    /// Success: the command did its job, or the hook allowed the event or printed its decision as JSON.
    pub(crate) const OK: u8 = 0;
    /// ccbreaker could not do its job (bad input, unreadable files); the message is on stderr.
    pub(crate) const ERROR: u8 = 1;
    /// The hook blocked the event the classic way (`policy.on_breach = "exit-code"`); the reason is on stderr.
    pub(crate) const BLOCK: u8 = 2;
    /// `ccbreaker exec`: ccbreaker stopped a Claude Code session the command started; the reason is on stderr.
    pub(crate) const HALTED: u8 = 3;
    /// The command line was wrong.
    pub(crate) const USAGE: u8 = 64;
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Locked(#[from] LockedError),
    #[error(transparent)]
    Prices(#[from] crate::pricing::update::PricesError),
    #[error(transparent)]
    Correction(#[from] CorrectionError),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error(transparent)]
    Team(#[from] crate::team::TeamError),
    /// The command line was wrong.
    #[error("{0}\nRun `ccbreaker --help` for usage.")]
    Usage(String),
    /// An environment variable ccbreaker reads holds a value it cannot use.
    #[error("{var} must be {expected}, got {value:?}")]
    Env { var: &'static str, expected: &'static str, value: String },
    /// A file or directory outside the domains above could not be used.
    #[error("could not {action} `{}`", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not read the hook input on stdin")]
    Stdin(#[source] io::Error),
    /// Standard output or error could not be written (a closed pipe among others).
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A command that ran and must report failure, with the reason.
    #[error("{0}")]
    Failed(String),
}

/// A failed write to standard output or error. Its own type, so that no other I/O error can be mistaken for it.
#[derive(Debug, thiserror::Error)]
#[error("could not write to {stream}")]
pub(crate) struct OutputError {
    pub(crate) stream: &'static str,
    #[source]
    pub(crate) source: io::Error,
}

impl Error {
    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    pub(crate) fn file(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::File { action, path, source }
    }

    /// The exit code this error ends a command with.
    pub(crate) fn code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            _ => exit::ERROR,
        }
    }

    /// Whether the reader of our output went away (`ccbreaker report | head`): not an error worth a word.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(OutputError { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The message and every cause, e.g. "could not create state directory `/x/state`: Not a directory (os error
    /// 20)". See [`report`].
    pub(crate) fn report(&self) -> String {
        report(self)
    }
}

/// `err`'s message followed by each of its causes (`source()`), separated by ": "; a cause whose text the message
/// already holds is not repeated.
pub(crate) fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_keeps_every_cause() {
        let os = io::Error::from_raw_os_error(20);
        let err = Error::from(LedgerError::CreateDir { path: PathBuf::from("/f/state"), source: os });
        assert_eq!(err.report(), "could not create state directory `/f/state`: Not a directory (os error 20)");
        assert_eq!(err.code(), exit::ERROR);
    }

    #[test]
    fn only_a_closed_output_is_a_broken_pipe() {
        let pipe = || io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(Error::from(OutputError { stream: "standard output", source: pipe() }).is_broken_pipe());
        assert!(!Error::file("read", "/x")(pipe()).is_broken_pipe());
        let err = Error::from(OutputError { stream: "standard output", source: pipe() });
        assert_eq!(err.report(), "could not write to standard output: broken pipe");
    }

    #[test]
    fn usage_errors_exit_64_with_a_hint() {
        let err = Error::usage("unknown command `x`");
        assert_eq!(err.code(), exit::USAGE);
        assert_eq!(err.report(), "unknown command `x`\nRun `ccbreaker --help` for usage.");
    }
}
