//! Where this machine's mode keeps things, decided once per command: the environment that applies (locked mode
//! ignores every `CCBREAKER_*` variable), the config in force (locked mode: the root-owned one, tightened by the
//! user's), the state directory, and where grants come from. And the config as loaded, with the last good one in
//! force when the file cannot be used.

use crate::config::{self, Config, ConfigError, Reconcile, last_good};
use crate::correction::{Correction, CorrectionError};
use crate::env::Env;
use crate::locked::{self, Install, LockedError, Mode};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

pub(crate) struct Place {
    pub mode: Mode,
    /// The environment that applies: the process's in user mode; without the `CCBREAKER_*` overrides in locked mode.
    pub env: Env,
    /// The config whose budgets are in force (locked mode: the root-owned one).
    pub config_path: PathBuf,
    /// Locked mode: the user's own config, which may only tighten.
    pub user_config: Option<PathBuf>,
    pub state_dir: PathBuf,
    /// Locked mode: root's grants for this user, which the hook only reads.
    pub grants: Option<PathBuf>,
}

/// The config in force, and what to remember or say about it.
pub(crate) struct Effective {
    pub config: Config,
    pub warnings: Vec<String>,
    /// What was read whole and valid: (a locked-mode root config?, path, text), to keep as the last good copy.
    pub good: Vec<Good>,
    /// A combined fingerprint of what was read.
    pub fingerprint: u64,
    /// Set when a config could not be used and the last good one is in force instead.
    pub notice: Option<String>,
}

/// A config that cannot be used, with no earlier good copy to fall back on.
pub(crate) struct NoConfig {
    pub error: ConfigError,
}

impl Place {
    pub(crate) fn resolve(env: &Env) -> Result<Place, LockedError> {
        match Mode::detect()? {
            Mode::User => Ok(Place {
                config_path: crate::paths::config_file(env),
                state_dir: crate::paths::state_dir(env),
                env: env.clone(),
                mode: Mode::User,
                user_config: None,
                grants: None,
            }),
            Mode::Locked(install) => Ok(Place::locked(env, install)),
        }
    }

    fn locked(env: &Env, install: Install) -> Place {
        crate::files::forbid_group(install.gid);
        let env = env.without_overrides();
        Place {
            config_path: PathBuf::from(locked::ROOT_CONFIG),
            user_config: Some(crate::paths::config_file(&env)),
            state_dir: install.state_dir(),
            grants: Some(install.grants_file(locked::real_uid())),
            env,
            mode: Mode::Locked(install),
        }
    }

    /// Where the table of `ccbreaker prices update` is kept: the state directory in user mode; in locked mode,
    /// beside the root-owned config (prices are root's to change, and the same for every user).
    pub(crate) fn prices_dir(&self) -> PathBuf {
        if self.is_locked() { PathBuf::from(locked::CONFIG_DIR) } else { self.state_dir.clone() }
    }

    /// The budget correction in force for `config` (see [`crate::correction`]), from this mode's state, its factors
    /// clamped to [`Place::correction_range`].
    pub(crate) fn correction(&self, config: &Reconcile) -> Result<Option<Correction>, CorrectionError> {
        if !config.correct_budgets {
            return Ok(None);
        }
        let (min_factor, max_factor) = self.correction_range(config);
        Correction::load(&self.state_dir, &Reconcile { min_factor, max_factor, ..config.clone() })
    }

    /// The range the correction's factors are clamped to: the config's; in locked mode at least 1, so that a
    /// correction only raises spend (the bill it was measured from can be a CSV file the agent wrote).
    pub(crate) fn correction_range(&self, config: &Reconcile) -> (f64, f64) {
        if self.is_locked() {
            let min = config.min_factor.max(1.0);
            (min, config.max_factor.max(min))
        } else {
            (config.min_factor, config.max_factor)
        }
    }

    pub(crate) fn is_locked(&self) -> bool {
        matches!(self.mode, Mode::Locked(_))
    }

    /// How a person runs a command that needs privilege in this mode (`sudo ccbreaker` in locked mode): by the
    /// binary's name when `ccbreaker` on `PATH` is this binary (the locked one in locked mode), else by its absolute
    /// path, so that the command in a block message works as typed.
    pub(crate) fn human_command(&self) -> String {
        let binary = match &self.mode {
            Mode::Locked(install) => Some(install.binary.clone()),
            Mode::User => std::env::current_exe().ok(),
        };
        let name = match binary {
            Some(binary) if !crate::paths::is_on_path(&self.env, &binary) => crate::install::quote(&binary),
            _ => "ccbreaker".to_owned(),
        };
        if self.is_locked() { format!("sudo {name}") } else { name }
    }

    /// The config in force: what the file says, or, when it cannot be read or parsed (or was removed after it had
    /// been read), the last good copy kept in the state directory, with a notice naming the file and the error.
    pub(crate) fn config(&self) -> Result<Effective, NoConfig> {
        let root = self.is_locked();
        let Part { mut config, mut warnings, mut good, mut notice, mut fingerprint } =
            match load_or_recall(&self.config_path, &last_good::file(&self.state_dir, root)) {
                Ok((loaded, recalled)) => part(loaded, recalled, root, &self.config_path),
                Err(error) => return Err(NoConfig { error }),
            };
        if let Some(user) = &self.user_config {
            let copy = last_good::file(&self.state_dir, false);
            match load_or_recall(user, &copy) {
                Ok((loaded, recalled)) => {
                    let mine = part(loaded, recalled, false, user);
                    config = config::tighten(config, &mine.config);
                    warnings.extend(mine.warnings);
                    good.extend(mine.good);
                    notice = notice.or(mine.notice);
                    fingerprint = fingerprint.rotate_left(1) ^ mine.fingerprint;
                }
                Err(error) => {
                    let why = crate::error::report(&error);
                    notice = notice.or(Some(format!(
                        "ccbreaker: your own config could not be used ({why}); the \
                        budgets of {} apply",
                        locked::ROOT_CONFIG
                    )));
                }
            }
        }
        Ok(Effective { config, warnings, good, fingerprint, notice })
    }
}

/// What loading gave: either the file (`Ok`, no recall) or the last good copy in its place.
type Recalled = Option<(last_good::Kept, String)>;

fn load_or_recall(path: &Path, copy: &Path) -> Result<(Option<config::Loaded>, Recalled), ConfigError> {
    let error = match config::load(path) {
        Ok(loaded) if loaded.exists => return Ok((Some(loaded), None)),
        Ok(loaded) => match last_good::recall(copy, path) {
            // The file was there when last read, and now is not: it was removed, not never written.
            Some(kept) if kept.existed => {
                let why = format!("`{}` was removed", path.display());
                return Ok((None, Some((kept, why))));
            }
            _ => return Ok((Some(loaded), None)),
        },
        Err(error) => error,
    };
    match last_good::recall(copy, path) {
        Some(kept) => Ok((None, Some((kept, crate::error::report(&error))))),
        None => Err(error),
    }
}

/// One config file's part of the effective config.
struct Part {
    config: Config,
    warnings: Vec<String>,
    good: Vec<Good>,
    notice: Option<String>,
    fingerprint: u64,
}

/// A config read whole and valid: (a locked-mode root config?, its path, its text or `None` if missing).
type Good = (bool, PathBuf, Option<String>);

fn part(loaded: Option<config::Loaded>, recalled: Recalled, root: bool, path: &Path) -> Part {
    match (loaded, recalled) {
        (Some(loaded), _) => {
            let good = vec![(root, path.to_path_buf(), loaded.text)];
            Part {
                config: loaded.config,
                warnings: loaded.warnings,
                good,
                notice: None,
                fingerprint: loaded.fingerprint,
            }
        }
        (None, Some((kept, why))) => {
            let notice = format!(
                "ccbreaker: {why}; the last good config (read {}) stays in force until the file is fixed (check it \
                 with `ccbreaker config check`)",
                kept.at.format("%Y-%m-%d %H:%M UTC")
            );
            Part { config: kept.config, warnings: Vec::new(), good: Vec::new(), notice: Some(notice), fingerprint: 0 }
        }
        (None, None) => unreachable!("a config is either loaded or recalled"),
    }
}

impl Effective {
    /// Keeps what was read whole and valid as the last good copies, in `state_dir`.
    pub(crate) fn remember(&self, state_dir: &Path, now: DateTime<Utc>) -> std::io::Result<()> {
        for (root, path, text) in &self.good {
            last_good::remember(&last_good::file(state_dir, *root), path, text.as_deref(), now)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    fn place(dir: &Path, locked: bool) -> Place {
        let mode = if locked {
            Mode::Locked(Install {
                binary: PathBuf::from("/usr/local/bin/ccbreaker"),
                gid: 998,
                state_root: dir.to_path_buf(),
                managed_settings: locked::managed_settings(),
                mod_dir: None,
            })
        } else {
            Mode::User
        };
        Place {
            mode,
            env: Env::default(),
            config_path: dir.join("config.toml"),
            user_config: None,
            state_dir: dir.to_path_buf(),
            grants: None,
        }
    }

    #[test]
    fn in_locked_mode_the_correction_only_raises_spend() {
        let dir = TestDir::new("place-correction");
        let mut factors = crate::correction::Factors::new(
            DateTime::UNIX_EPOCH,
            "test".to_owned(),
            chrono::NaiveDate::MIN,
            chrono::NaiveDate::MIN,
        );
        factors.fallback = Some(0.5);
        crate::correction::write(dir.path(), &factors).unwrap();
        let config = Reconcile { correct_budgets: true, min_factor: 0.2, max_factor: 0.8, ..Reconcile::default() };
        let (user, locked) = (place(dir.path(), false), place(dir.path(), true));
        assert_eq!(user.correction_range(&config), (0.2, 0.8));
        assert_eq!(locked.correction_range(&config), (1.0, 1.0));
        let factor = |p: &Place| p.correction(&config).unwrap().unwrap().factor_ppm("claude-sonnet-5");
        assert_eq!((factor(&user), factor(&locked)), (500_000, 1_000_000));
        let off = Reconcile { correct_budgets: false, ..config };
        assert_eq!(locked.correction(&off).unwrap(), None);
        assert_eq!(locked.prices_dir(), Path::new(locked::CONFIG_DIR));
        assert_eq!(user.prices_dir(), dir.path());
    }
}
