//! Whether ccbreaker protects what the user thinks it does, as checks a person can act on: each one a verdict in one
//! line and, when it does not hold, the fix. `ccbreaker doctor` shows them all; `status` shows the protection they
//! add up to in one line ([`protection`]).

use crate::config::{Channel, Config, Source};
use crate::env::Env;
use crate::install::{self, Registered};
use crate::place::Place;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Level {
    Ok,
    /// Works, with something worth fixing (`doctor` still exits 0).
    Warn,
    /// Does not hold (`doctor` exits 1).
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    /// `hooks`, `path`, `config`, `state`, `client`, `on_failure`, `locked`, `alerts`, `transcripts`, `team`.
    pub name: &'static str,
    pub level: Level,
    pub verdict: String,
    /// What to do when it does not hold.
    pub fix: Option<String>,
}

fn check(name: &'static str, level: Level, verdict: impl Into<String>, fix: Option<String>) -> Check {
    Check { name, level, verdict: verdict.into(), fix }
}

/// A settings file Claude Code reads, and which of ccbreaker's hooks and statusline it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SettingsFile {
    pub path: PathBuf,
    /// `user`, `project`, `local`, `managed`.
    pub scope: &'static str,
    #[serde(skip)]
    pub handlers: Vec<Registered>,
    /// The events it registers ccbreaker for.
    pub events: Vec<String>,
    /// The programs its handlers run, as written.
    pub programs: Vec<String>,
    pub statusline: Option<String>,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// Every settings file that can register ccbreaker for a session started in `cwd`, that exists.
pub(crate) fn settings_files(env: &Env, cwd: &Path, managed: &Path) -> Vec<SettingsFile> {
    let mut candidates: Vec<(PathBuf, &'static str)> = Vec::new();
    let mut add = |path: PathBuf, scope: &'static str| {
        if !candidates.iter().any(|(p, _)| *p == path) {
            candidates.push((path, scope));
        }
    };
    for dir in env.claude_config_dirs().into_iter().chain(env.home.as_ref().map(|h| h.join(".claude"))) {
        let dir = if dir.is_absolute() { dir } else { cwd.join(dir) };
        add(dir.join("settings.json"), "user");
        add(dir.join("settings.local.json"), "user");
    }
    add(cwd.join(".claude").join("settings.json"), "project");
    add(cwd.join(".claude").join("settings.local.json"), "local");
    add(managed.to_path_buf(), "managed");
    candidates
        .into_iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, scope)| match install::read_settings(&path) {
            Ok(settings) => {
                let handlers = install::registered(&settings);
                let mut events: Vec<String> = handlers.iter().map(|h| h.event.clone()).collect();
                events.dedup();
                let mut programs: Vec<String> = handlers.iter().map(|h| h.program.clone()).collect();
                programs.sort();
                programs.dedup();
                let statusline = install::statusline(&settings).filter(|(_, ours)| *ours).map(|(c, _)| c);
                SettingsFile { path, scope, handlers, events, programs, statusline, error: None }
            }
            Err(err) => SettingsFile {
                path,
                scope,
                handlers: Vec::new(),
                events: Vec::new(),
                programs: Vec::new(),
                statusline: None,
                error: Some(crate::error::report(&err)),
            },
        })
        .collect()
}

/// What a handler's program is: the binary it runs, if it can be found.
fn resolve_program(program: &str, env: &Env) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    if program.contains('/') || program.contains('$') {
        // Relative to wherever Claude Code runs it, or expanded by its shell: not checkable here.
        return None;
    }
    crate::paths::find_on_path(env, program)
}

/// Whether the hooks are registered, where, and by which binary.
pub(crate) fn hooks(files: &[SettingsFile], env: &Env, this: Option<&Path>) -> Check {
    let all: Vec<&str> = install::event_names().collect();
    let unreadable: Vec<&SettingsFile> = files.iter().filter(|f| f.error.is_some()).collect();
    let registering: Vec<&SettingsFile> = files.iter().filter(|f| !f.events.is_empty()).collect();
    if registering.is_empty() {
        let mut verdict = "not registered: no settings file Claude Code reads runs ccbreaker's hooks".to_owned();
        if let Some(f) = unreadable.first() {
            verdict.push_str(&format!(
                " (`{}` could not be read: {})",
                f.path.display(),
                f.error.as_deref().unwrap_or("")
            ));
        }
        return check(
            "hooks",
            Level::Fail,
            verdict,
            Some("run `ccbreaker install` (or `sudo ccbreaker install --locked`)".into()),
        );
    }
    let mut problems = Vec::new();
    let mut places = Vec::new();
    for f in &registering {
        let missing: Vec<&str> = all.iter().filter(|e| !f.events.iter().any(|x| x == *e)).copied().collect();
        if !missing.is_empty() {
            problems.push(format!("`{}` lacks {}", f.path.display(), missing.join(", ")));
        }
        if f.handlers.iter().any(|h| h.event == "PreToolUse" && !h.matches_all) {
            problems.push(format!("`{}` runs PreToolUse for some tools only", f.path.display()));
        }
        for program in &f.programs {
            match resolve_program(program, env) {
                None if Path::new(program).is_absolute() => problems
                    .push(format!("`{}` runs `{program}`, which does not exist (a stale path)", f.path.display())),
                None if !program.contains('/') => {
                    problems.push(format!("`{}` runs `{program}` by name, and it is not on PATH", f.path.display()))
                }
                _ => {}
            }
        }
        let by = f.programs.join(", ");
        places.push(format!("{} ({}, {} of 5 events, by {by})", f.path.display(), f.scope, f.events.len().min(5)));
    }
    let stale_other: Vec<String> = registering
        .iter()
        .flat_map(|f| f.programs.iter())
        .filter_map(|p| resolve_program(p, env).map(|found| (p, found)))
        .filter(|(_, found)| this.is_some_and(|t| !same_file(found, t)))
        .map(|(p, _)| p.clone())
        .collect();
    let verdict = format!("registered in {}", places.join("; "));
    if !problems.is_empty() {
        let fix = "run `ccbreaker install` again from the binary you use (it rewrites ccbreaker's entries in place)";
        return check("hooks", Level::Fail, format!("{verdict}; but {}", problems.join("; ")), Some(fix.into()));
    }
    if registering.len() > 1 && registering.iter().filter(|f| f.scope != "managed").count() > 1 {
        let fix = "keep one: `ccbreaker uninstall --scope SCOPE` removes the others".to_owned();
        return check("hooks", Level::Warn, format!("{verdict}: every event runs ccbreaker more than once"), Some(fix));
    }
    if !stale_other.is_empty() {
        let this = this.map(|t| t.display().to_string()).unwrap_or_default();
        let fix = format!("run `{this} install` to register this one, or run that one's `doctor`");
        return check(
            "hooks",
            Level::Warn,
            format!("{verdict}: it runs {}, not this ccbreaker ({this})", stale_other.join(", ")),
            Some(fix),
        );
    }
    check("hooks", Level::Ok, verdict, None)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether `ccbreaker` on PATH is this binary; a failure where a settings file runs it by name.
pub(crate) fn on_path(files: &[SettingsFile], env: &Env, this: Option<&Path>) -> Check {
    let by_name = files.iter().any(|f| f.programs.iter().any(|p| !p.contains('/')));
    let found = crate::paths::find_on_path(env, "ccbreaker");
    let dir = this.and_then(Path::parent).map(|d| d.display().to_string()).unwrap_or_default();
    match (found, this) {
        (Some(found), Some(this)) if same_file(&found, this) => {
            check("path", Level::Ok, format!("`ccbreaker` on PATH is this binary ({})", found.display()), None)
        }
        (Some(found), _) => check(
            "path",
            if by_name { Level::Fail } else { Level::Warn },
            format!(
                "`ccbreaker` on PATH is another binary ({}); messages name this one by its absolute path",
                found.display()
            ),
            Some(format!("put {dir} first on PATH, or remove the other one")),
        ),
        (None, _) => check(
            "path",
            if by_name { Level::Fail } else { Level::Warn },
            if by_name {
                "`ccbreaker` is not on PATH, and a settings file runs it by name: those hooks fail".to_owned()
            } else {
                "`ccbreaker` is not on PATH: every message names it by its absolute path".to_owned()
            },
            Some(format!("add {dir} to PATH")),
        ),
    }
}

/// Whether the config loads, with its warnings (a did-you-mean for unknown keys) and roots that do not exist.
pub(crate) fn config(place: &Place) -> (Check, Option<Config>) {
    let effective = match place.config() {
        Ok(effective) => effective,
        Err(no) => {
            let fix = format!("fix `{}` (`ccbreaker config check` shows the line)", place.config_path.display());
            return (check("config", Level::Fail, crate::error::report(&no.error), Some(fix)), None);
        }
    };
    let config = effective.config;
    if let Some(notice) = effective.notice {
        let fix = "fix the file: `ccbreaker config check` says what is wrong".to_owned();
        return (
            check("config", Level::Fail, notice.trim_start_matches("ccbreaker: ").to_owned(), Some(fix)),
            Some(config),
        );
    }
    let mut warnings = effective.warnings;
    for root in &config.transcripts.extra_roots {
        let path = crate::paths::expand_home(root, place.env.home.as_deref());
        if !path.is_dir() {
            warnings.push(format!("transcripts.extra_roots names `{}`, which is not a directory", path.display()));
        }
    }
    let source = if place.config_path.exists() {
        format!("`{}` is valid", place.config_path.display())
    } else {
        format!("no `{}`: the defaults apply", place.config_path.display())
    };
    if warnings.is_empty() {
        (check("config", Level::Ok, source, None), Some(config))
    } else {
        let fix = format!("edit `{}`", place.config_path.display());
        (check("config", Level::Warn, format!("{source}, but: {}", warnings.join("; ")), Some(fix)), Some(config))
    }
}

/// Whether the state directory can be written, and no one else can read it.
pub(crate) fn state(place: &Place) -> Check {
    let dir = &place.state_dir;
    let Ok(meta) = std::fs::metadata(dir) else {
        return check(
            "state",
            Level::Warn,
            format!("`{}` does not exist yet (the first hook call creates it)", dir.display()),
            Some("run `ccbreaker status` to create it".into()),
        );
    };
    if !meta.is_dir() {
        return check(
            "state",
            Level::Fail,
            format!("`{}` is not a directory", dir.display()),
            Some(format!("remove `{}`", dir.display())),
        );
    }
    let probe = dir.join(format!(".doctor.{}.tmp", std::process::id()));
    let writable = crate::files::private_options().write(true).create_new(true).open(&probe).map(|_| ());
    let _ = std::fs::remove_file(&probe);
    if let Err(err) = writable {
        return check(
            "state",
            Level::Fail,
            format!("`{}` cannot be written: {err}", dir.display()),
            Some(format!("fix its owner and mode: chmod 700 `{}`", dir.display())),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode() & 0o777;
        if !place.is_locked() && mode & 0o077 != 0 {
            return check(
                "state",
                Level::Fail,
                format!("`{}` is writable but not private (mode {mode:o})", dir.display()),
                Some(format!("chmod 700 `{}`", dir.display())),
            );
        }
    }
    check("state", Level::Ok, format!("`{}` is writable and private", dir.display()), None)
}

/// The client on PATH, and which of the features ccbreaker uses it has.
pub(crate) fn client(version: Option<[u32; 3]>) -> Check {
    use install::client::{MODS_SINCE, ON_FAILURE_SINCE, show};
    let Some(v) = version else {
        return check(
            "client",
            Level::Warn,
            "`claude` is not on PATH: its version and features cannot be checked",
            Some("check where Claude Code is installed".into()),
        );
    };
    let yes = |since: [u32; 3]| if v >= since { "yes".to_owned() } else { format!("no (from {})", show(since)) };
    let verdict = format!("Claude Code {}: onFailure {}, mods {}", show(v), yes(ON_FAILURE_SINCE), yes(MODS_SINCE));
    if v < ON_FAILURE_SINCE {
        return check(
            "client",
            Level::Warn,
            format!("{verdict}: a hook that crashes or hangs lets its call through"),
            Some("update Claude Code (`claude update`)".into()),
        );
    }
    check("client", Level::Ok, verdict, None)
}

/// Whether the handlers that can fail closed do, where the client honours it.
pub(crate) fn on_failure(files: &[SettingsFile], version: Option<[u32; 3]>) -> Check {
    let missing: Vec<String> = files
        .iter()
        .flat_map(|f| f.handlers.iter().map(move |h| (f, h)))
        .filter(|(_, h)| install::fails_closed(&h.event) && !h.on_failure_block)
        .map(|(f, h)| format!("{} in `{}`", h.event, f.path.display()))
        .collect();
    let honoured = version.is_none_or(|v| v >= install::client::ON_FAILURE_SINCE);
    if files.iter().all(|f| f.handlers.is_empty()) {
        return check("on_failure", Level::Warn, "nothing registered to check", None);
    }
    match (missing.is_empty(), honoured) {
        (true, true) => {
            check("on_failure", Level::Ok, "PreToolUse and PostToolBatch fail closed (onFailure: block)", None)
        }
        (true, false) => {
            check("on_failure", Level::Warn, "written, but this client ignores it", Some("update Claude Code".into()))
        }
        (false, _) => check(
            "on_failure",
            Level::Fail,
            format!("without onFailure: block: {} (a killed or hung hook lets the call through)", missing.join(", ")),
            Some("run `ccbreaker install` again (it adds the key)".into()),
        ),
    }
}

/// Locked mode's boundary, when installed.
pub(crate) fn locked(place: &Place) -> Option<Check> {
    let install = place.mode.install()?;
    let checks = crate::locked::checks::run(install);
    let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
    Some(if failed.is_empty() {
        check("locked", Level::Ok, format!("locked mode: all {} boundary checks hold", checks.len()), None)
    } else {
        check(
            "locked",
            Level::Fail,
            format!("locked mode: {}", failed.join("; ")),
            Some("as root: fix what FAIL says, or run `sudo ccbreaker install --locked` again".into()),
        )
    })
}

/// Whether the alert channels can be reached (without sending: the record of the last deliveries, and what can be
/// checked here: the delivering binary, environment variables and files, the desktop notifier).
pub(crate) fn alerts(place: &Place, config: &Config, net: Option<&Path>) -> Check {
    let alerts = &config.alerts;
    if alerts.channels.is_empty() {
        return check("alerts", Level::Ok, "no channel configured (optional: [alerts] in the config)", None);
    }
    let names: Vec<&str> = alerts.channels.iter().map(|c| c.channel.name()).collect();
    let mut problems = Vec::new();
    if net.is_none_or(|n| !n.is_file()) {
        problems.push(format!("`{}` is missing beside ccbreaker: no alert can be delivered", crate::paths::NET_BINARY));
    }
    for c in &alerts.channels {
        match &c.channel {
            Channel::Webhook(Source::Env(var)) | Channel::Ntfy(Source::Env(var)) => {
                if place.is_locked() && !c.from_user {
                    problems.push(format!("{} reads {var}, which locked mode ignores: use a *_file", c.channel.name()));
                } else if place.env.named(var).is_none() {
                    problems.push(format!("{} reads {var}, which is not set here", c.channel.name()));
                }
            }
            Channel::Webhook(Source::File(file)) | Channel::Ntfy(Source::File(file)) => {
                let path = crate::paths::expand_home(file, place.env.home.as_deref());
                if !path.is_file() {
                    problems.push(format!("{} reads `{}`, which is not a file", c.channel.name(), path.display()));
                }
            }
            Channel::Desktop
                if !cfg!(target_os = "macos") && crate::paths::find_on_path(&place.env, "notify-send").is_none() =>
            {
                problems.push("desktop needs notify-send on PATH (Debian: apt install libnotify-bin)".to_owned());
            }
            Channel::Command(words) if resolve_program(&words[0], &place.env).is_none() => {
                problems.push(format!("command `{}` was not found", words[0]));
            }
            _ => {}
        }
    }
    let record = crate::alert::state::Record::read(&place.state_dir).unwrap_or_default();
    for (channel, d) in record.failing() {
        problems.push(format!(
            "the last delivery to {channel} failed ({}): {}",
            d.at.map(crate::text::rfc3339).unwrap_or_default(),
            d.error.as_deref().unwrap_or("?")
        ));
    }
    if problems.is_empty() {
        check("alerts", Level::Ok, format!("{} configured; the last deliveries succeeded", names.join(", ")), None)
    } else {
        check(
            "alerts",
            Level::Fail,
            format!("{}: {}", names.join(", "), problems.join("; ")),
            Some("fix the channel, then `ccbreaker alert test` (or `doctor --send`)".into()),
        )
    }
}

/// Whether the team's Redis server (`[team]`) answers, and how fast; its credentials are never shown. `None` when
/// team mode is off.
pub(crate) fn team(place: &Place, config: &Config, now: chrono::DateTime<chrono::Utc>) -> Option<Check> {
    let team = config.team.as_ref()?;
    let setup = match crate::team::Setup::new(team, &place.env) {
        Ok(setup) => setup,
        Err(err) => {
            let fix = "set team.redis_url, or CCBREAKER_REDIS_URL, to redis://[[user]:password@]host[:port][/db]";
            return Some(check("team", Level::Fail, crate::error::report(&err), Some(fix.into())));
        }
    };
    let saved = crate::team::Saved::load(&place.state_dir);
    let pending = match saved.pending {
        0 => String::new(),
        n => format!("; {n} response(s) wait to be pushed"),
    };
    let started = std::time::Instant::now();
    Some(match setup.read(setup.zone.date_of(now)) {
        Ok(_) => check(
            "team",
            Level::Ok,
            format!(
                "team `{}` on {} answers (round trip {:.2} ms, timeout_ms {}){pending}",
                setup.name,
                setup.target,
                started.elapsed().as_secs_f64() * 1000.0,
                team.timeout_ms
            ),
            None,
        ),
        Err(err) => check(
            "team",
            Level::Fail,
            format!(
                "team `{}`: {}; hooks {} meanwhile{pending}",
                setup.name,
                crate::error::report(&err),
                match team.on_unreachable {
                    crate::config::OnUnreachable::Allow => "judge the team budgets on the last totals read",
                    crate::config::OnUnreachable::Block => "block every call (team.on_unreachable = \"block\")",
                }
            ),
            Some("start the server or fix the URL (host, port, credentials); `ccbreaker team status` shows it".into()),
        ),
    })
}

/// Whether there are transcripts to count, and every named root exists.
pub(crate) fn transcripts(env: &Env, config: &Config) -> Check {
    let mut problems = Vec::new();
    for dir in env.claude_config_dirs() {
        if !dir.is_dir() {
            problems.push(format!("CLAUDE_CONFIG_DIR names `{}`, which does not exist", dir.display()));
        }
    }
    let roots = crate::paths::transcript_roots(env, &config.transcripts.extra_roots);
    let mut files = 0usize;
    let mut found_roots = Vec::new();
    for root in &roots {
        let Ok(projects) = std::fs::read_dir(root) else { continue };
        found_roots.push(root.display().to_string());
        for project in projects.flatten().take(10_000) {
            if let Ok(entries) = std::fs::read_dir(project.path()) {
                files += entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "jsonl")).count();
            }
        }
    }
    if found_roots.is_empty() {
        let where_ = roots.iter().map(|r| format!("`{}`", r.display())).collect::<Vec<_>>().join(", ");
        problems.push(format!("no transcript directory exists (looked in {where_})"));
        return check(
            "transcripts",
            Level::Warn,
            problems.join("; "),
            Some("start a Claude Code session, or set CLAUDE_CONFIG_DIR or transcripts.extra_roots".into()),
        );
    }
    let verdict = format!("{files} session transcript(s) in {}", found_roots.join(", "));
    if problems.is_empty() {
        check("transcripts", Level::Ok, verdict, None)
    } else {
        check(
            "transcripts",
            Level::Warn,
            format!("{verdict}; but {}", problems.join("; ")),
            Some("fix CLAUDE_CONFIG_DIR".into()),
        )
    }
}

/// The protection in force, in one line, for `status`: registered (where) or not, and the mode.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Protection {
    pub registered: bool,
    pub summary: String,
}

pub(crate) fn protection(place: &Place) -> Protection {
    let cwd = std::env::current_dir().unwrap_or_default();
    let files = settings_files(&place.env, &cwd, &crate::locked::managed_settings());
    let this = std::env::current_exe().ok();
    let hooks = hooks(&files, &place.env, this.as_deref());
    let fails_closed =
        files.iter().flat_map(|f| &f.handlers).filter(|h| install::fails_closed(&h.event)).all(|h| h.on_failure_block);
    let registered = hooks.level != Level::Fail;
    let summary = if registered {
        let scopes: Vec<&str> = files.iter().filter(|f| !f.events.is_empty()).map(|f| f.scope).collect();
        format!(
            "{} mode, hooks registered ({}){}{}",
            place.mode.name(),
            scopes.join(", "),
            if fails_closed { ", fail-closed" } else { ", NOT fail-closed (run `ccbreaker install`)" },
            if hooks.level == Level::Warn { " (`ccbreaker doctor` has a warning)" } else { "" }
        )
    } else {
        format!("NONE: {} (run `ccbreaker install`; `ccbreaker doctor` checks)", hooks.verdict)
    };
    Protection { registered, summary }
}
