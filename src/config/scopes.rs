//! The budgets beyond a session's and a day's dollars (issue 18), each off unless set: the 5-hour billing block,
//! the week and the month, a session's and a day's tokens, a project (by directory glob and branch) and a model (by
//! name glob). Kept in one place so that reading, writing back, the template and locked mode's tightening of every
//! such key are seen together.

use super::{ConfigError, Reader};
use crate::usage::Usage;
use std::fmt::Write as _;
use toml::{Table, Value};

/// The keys of `[budget]` this module reads.
pub(super) const KEYS: [&str; 10] = [
    "five_hour_pct",
    "seven_day_pct",
    "block_5h_usd",
    "weekly_usd",
    "monthly_usd",
    "session_tokens",
    "daily_tokens",
    "token_classes",
    "project",
    "model",
];

/// Budgets over other spans and slices of the spend; 0 (or empty) turns each off.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Scopes {
    /// USD the current 5-hour billing block may cost (the blocks of `ccbreaker report blocks`).
    pub block_5h_usd: f64,
    /// USD the week (from Monday, in `budget.timezone`) and the calendar month may cost, all sessions.
    pub weekly_usd: f64,
    pub monthly_usd: f64,
    /// Tokens one session, and all sessions in one day, may use (of `token_classes`).
    pub session_tokens: u64,
    pub daily_tokens: u64,
    /// Which token classes the token budgets count; empty: all of them.
    pub token_classes: Vec<TokenClass>,
    /// `[[budget.project]]`, in file order: a session is held to the first entry of its group that matches it.
    pub projects: Vec<ProjectBudget>,
    /// `[budget.model."GLOB"]`: every entry whose glob matches a model counts that model's spend.
    pub models: Vec<ModelBudget>,
    /// Percentages of the plan's own 5-hour and 7-day windows (`rate_limits`) at which to stop; 0: off.
    pub five_hour_pct: f64,
    pub seven_day_pct: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenClass {
    Input,
    Output,
    CacheCreation,
    CacheRead,
}

impl TokenClass {
    const ALL: [TokenClass; 4] =
        [TokenClass::Input, TokenClass::Output, TokenClass::CacheCreation, TokenClass::CacheRead];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenClass::Input => "input",
            TokenClass::Output => "output",
            TokenClass::CacheCreation => "cache_creation",
            TokenClass::CacheRead => "cache_read",
        }
    }

    fn parse(name: &str) -> Option<TokenClass> {
        TokenClass::ALL.into_iter().find(|c| c.as_str() == name)
    }

    fn of(self, usage: &Usage) -> u64 {
        match self {
            TokenClass::Input => usage.input_tokens,
            TokenClass::Output => usage.output_tokens,
            TokenClass::CacheCreation => usage.cache_creation_tokens(),
            TokenClass::CacheRead => usage.cache_read_tokens,
        }
    }
}

/// A project's own budgets: sessions whose project directory matches `path` (and whose branch is `branch`, if set).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ProjectBudget {
    /// The glob as written (`~/` is the home directory, expanded when matched).
    pub path: String,
    pub branch: Option<String>,
    pub session_usd: f64,
    pub daily_usd: f64,
    pub weekly_usd: f64,
    pub monthly_usd: f64,
    /// Its own warning fraction (else `budget.warn_at`).
    pub warn_at: Option<f64>,
    /// 0: the config in force (user mode, or locked mode's root); 1: added by the user's config in locked mode,
    /// matched on its own so it can only add limits.
    pub group: u8,
}

/// A model's own budgets: only the spend of responses on a model whose normalised name matches `pattern`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ModelBudget {
    pub pattern: String,
    pub daily_usd: f64,
    pub weekly_usd: f64,
    pub monthly_usd: f64,
    pub warn_at: Option<f64>,
}

impl Scopes {
    /// The tokens of `usage` the token budgets count.
    pub(crate) fn tokens(&self, usage: &Usage) -> u64 {
        if self.token_classes.is_empty() {
            return TokenClass::ALL.iter().map(|c| c.of(usage)).sum();
        }
        self.token_classes.iter().map(|c| c.of(usage)).sum()
    }

    /// Whether a budget needs spend older than yesterday (the week, the month): the walk and the ledger then reach
    /// back to the start of the longest such period.
    pub(crate) fn reaches_back(&self) -> Option<Reach> {
        let month = self.monthly_usd > 0.0
            || self.projects.iter().any(|p| p.monthly_usd > 0.0)
            || self.models.iter().any(|m| m.monthly_usd > 0.0);
        let week = self.weekly_usd > 0.0
            || self.projects.iter().any(|p| p.weekly_usd > 0.0)
            || self.models.iter().any(|m| m.weekly_usd > 0.0);
        if month {
            Some(Reach::Month)
        } else if week {
            Some(Reach::Week)
        } else {
            None
        }
    }
}

/// How far back the longest configured period reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    Week,
    Month,
}

impl Reader<'_> {
    pub(super) fn scopes(&mut self, table: &Table, mut s: Scopes) -> Result<Scopes, ConfigError> {
        for (key, slot) in [
            ("block_5h_usd", &mut s.block_5h_usd),
            ("weekly_usd", &mut s.weekly_usd),
            ("monthly_usd", &mut s.monthly_usd),
        ] {
            if let Some(v) = table.get(key) {
                *slot = self.usd(&format!("budget.{key}"), v)?;
            }
        }
        for (key, slot) in [("five_hour_pct", &mut s.five_hour_pct), ("seven_day_pct", &mut s.seven_day_pct)] {
            if let Some(v) = table.get(key) {
                let full = format!("budget.{key}");
                let pct = self.number(&full, v)?;
                if !(0.0..=100.0).contains(&pct) {
                    return Err(self.invalid(&full, format!("must be a percentage from 0 to 100, got {pct}")));
                }
                *slot = pct;
            }
        }
        for (key, slot) in [("session_tokens", &mut s.session_tokens), ("daily_tokens", &mut s.daily_tokens)] {
            if let Some(v) = table.get(key) {
                *slot = self.whole(&format!("budget.{key}"), v, 0, i64::MAX as u64, "tokens")?;
            }
        }
        if let Some(v) = table.get("token_classes") {
            let Value::Array(items) = v else {
                return Err(self.invalid("budget.token_classes", "must be an array of token classes".to_owned()));
            };
            s.token_classes.clear();
            for item in items {
                let name = self.string("budget.token_classes", item)?;
                let class = TokenClass::parse(name).ok_or_else(|| {
                    let all: Vec<&str> = TokenClass::ALL.iter().map(|c| c.as_str()).collect();
                    self.invalid("budget.token_classes", format!("names {name:?}; the classes are {}", all.join(", ")))
                })?;
                if !s.token_classes.contains(&class) {
                    s.token_classes.push(class);
                }
            }
        }
        if let Some(v) = table.get("project") {
            let Value::Array(items) = v else {
                return Err(self.invalid(
                    "budget.project",
                    "must be an array of tables: write each entry as [[budget.project]]".to_owned(),
                ));
            };
            s.projects.clear();
            for (i, item) in items.iter().enumerate() {
                let key = format!("budget.project[{i}]");
                let Value::Table(entry) = item else {
                    return Err(self.invalid(&key, "must be a table: write it as [[budget.project]]".to_owned()));
                };
                s.projects.push(self.project(entry, &key)?);
            }
        }
        if let Some(v) = table.get("model") {
            let Value::Table(entries) = v else {
                return Err(
                    self.invalid("budget.model", "must be a table of models: [budget.model.\"GLOB\"]".to_owned())
                );
            };
            s.models.clear();
            for (pattern, entry) in entries {
                let key = format!("budget.model.{pattern:?}");
                let Value::Table(entry) = entry else {
                    return Err(
                        self.invalid(&key, "must be a table: [budget.model.\"GLOB\"] daily_usd = ...".to_owned())
                    );
                };
                if pattern.trim().is_empty() {
                    return Err(self.invalid(&key, "names no model".to_owned()));
                }
                self.warn_unknown(entry, &key, &["daily_usd", "weekly_usd", "monthly_usd", "warn_at"]);
                let mut model = ModelBudget { pattern: pattern.to_ascii_lowercase(), ..ModelBudget::default() };
                self.amounts(
                    entry,
                    &key,
                    [None, Some(&mut model.daily_usd), Some(&mut model.weekly_usd), Some(&mut model.monthly_usd)],
                )?;
                model.warn_at = self.own_warn_at(entry, &key)?;
                s.models.push(model);
            }
        }
        Ok(s)
    }

    fn project(&mut self, entry: &Table, key: &str) -> Result<ProjectBudget, ConfigError> {
        self.warn_unknown(
            entry,
            key,
            &["path", "branch", "session_usd", "daily_usd", "weekly_usd", "monthly_usd", "warn_at"],
        );
        let path = match entry.get("path") {
            Some(v) => self.string(&format!("{key}.path"), v)?.to_owned(),
            None => return Err(self.invalid(key, "needs a `path` glob, such as \"~/work/acme/**\"".to_owned())),
        };
        if path.trim().is_empty() {
            return Err(self.invalid(&format!("{key}.path"), "must not be empty".to_owned()));
        }
        let branch = match entry.get("branch") {
            Some(v) => Some(self.string(&format!("{key}.branch"), v)?.to_owned()),
            None => None,
        };
        let mut p = ProjectBudget { path, branch, ..ProjectBudget::default() };
        self.amounts(
            entry,
            key,
            [Some(&mut p.session_usd), Some(&mut p.daily_usd), Some(&mut p.weekly_usd), Some(&mut p.monthly_usd)],
        )?;
        p.warn_at = self.own_warn_at(entry, key)?;
        Ok(p)
    }

    /// `session_usd`, `daily_usd`, `weekly_usd`, `monthly_usd` of an entry, into the slots given.
    fn amounts(&self, entry: &Table, key: &str, slots: [Option<&mut f64>; 4]) -> Result<(), ConfigError> {
        let names = ["session_usd", "daily_usd", "weekly_usd", "monthly_usd"];
        for (name, slot) in names.into_iter().zip(slots) {
            if let (Some(slot), Some(v)) = (slot, entry.get(name)) {
                *slot = self.usd(&format!("{key}.{name}"), v)?;
            }
        }
        Ok(())
    }

    fn own_warn_at(&self, entry: &Table, key: &str) -> Result<Option<f64>, ConfigError> {
        let Some(v) = entry.get("warn_at") else { return Ok(None) };
        let full = format!("{key}.warn_at");
        let warn_at = self.number(&full, v)?;
        if !(0.0..=1.0).contains(&warn_at) {
            return Err(self.invalid(&full, format!("must be a fraction from 0 to 1, got {warn_at}")));
        }
        Ok(Some(warn_at))
    }
}

/// Locked mode: the root's scopes, tightened by the user's. A budget one side turns off is the other side's, else
/// the lower one stands; token budgets count the classes of both (more classes count more); the user's project
/// entries are matched on their own (so a session held by the root's entry is also held by the user's), and the
/// user's model entries are added.
pub(super) fn tighten(root: &mut Scopes, user: &Scopes, budget: impl Fn(f64, f64) -> f64) {
    root.block_5h_usd = budget(root.block_5h_usd, user.block_5h_usd);
    root.weekly_usd = budget(root.weekly_usd, user.weekly_usd);
    root.monthly_usd = budget(root.monthly_usd, user.monthly_usd);
    root.five_hour_pct = budget(root.five_hour_pct, user.five_hour_pct);
    root.seven_day_pct = budget(root.seven_day_pct, user.seven_day_pct);
    let tokens = |a: u64, b: u64| match (a > 0, b > 0) {
        (true, true) => a.min(b),
        (true, false) => a,
        _ => b,
    };
    root.session_tokens = tokens(root.session_tokens, user.session_tokens);
    root.daily_tokens = tokens(root.daily_tokens, user.daily_tokens);
    if root.token_classes.is_empty() || user.token_classes.is_empty() {
        root.token_classes.clear();
    } else {
        for class in &user.token_classes {
            if !root.token_classes.contains(class) {
                root.token_classes.push(*class);
            }
        }
    }
    for project in &user.projects {
        root.projects.push(ProjectBudget { group: 1, ..project.clone() });
    }
    root.models.extend(user.models.iter().cloned());
}

/// The scopes as TOML lines of `[budget]` (`config show`), then their tables.
pub(super) fn render(out: &mut String, s: &Scopes) {
    for (key, usd) in [("block_5h_usd", s.block_5h_usd), ("weekly_usd", s.weekly_usd), ("monthly_usd", s.monthly_usd)] {
        if usd > 0.0 {
            let _ = writeln!(out, "{key} = {usd:?}");
        }
    }
    for (key, pct) in [("five_hour_pct", s.five_hour_pct), ("seven_day_pct", s.seven_day_pct)] {
        if pct > 0.0 {
            let _ = writeln!(out, "{key} = {pct:?}");
        }
    }
    for (key, tokens) in [("session_tokens", s.session_tokens), ("daily_tokens", s.daily_tokens)] {
        if tokens > 0 {
            let _ = writeln!(out, "{key} = {tokens}");
        }
    }
    if !s.token_classes.is_empty() {
        let names: Vec<String> = s.token_classes.iter().map(|c| format!("{:?}", c.as_str())).collect();
        let _ = writeln!(out, "token_classes = [{}]", names.join(", "));
    }
    let amounts = |out: &mut String, pairs: [(&str, f64); 4], warn_at: Option<f64>| {
        for (name, usd) in pairs {
            if usd > 0.0 {
                let _ = writeln!(out, "{name} = {usd:?}");
            }
        }
        if let Some(w) = warn_at {
            let _ = writeln!(out, "warn_at = {w:?}");
        }
    };
    for p in &s.projects {
        let mine = if p.group == 1 { " # from the user's config (locked mode)" } else { "" };
        let _ = writeln!(out, "\n[[budget.project]]{mine}\npath = {:?}", p.path);
        if let Some(branch) = &p.branch {
            let _ = writeln!(out, "branch = {branch:?}");
        }
        let pairs = [
            ("session_usd", p.session_usd),
            ("daily_usd", p.daily_usd),
            ("weekly_usd", p.weekly_usd),
            ("monthly_usd", p.monthly_usd),
        ];
        amounts(out, pairs, p.warn_at);
    }
    for m in &s.models {
        let _ = writeln!(out, "\n[budget.model.{:?}]", m.pattern);
        amounts(
            out,
            [
                ("session_usd", 0.0),
                ("daily_usd", m.daily_usd),
                ("weekly_usd", m.weekly_usd),
                ("monthly_usd", m.monthly_usd),
            ],
            m.warn_at,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{parse_err, parse_ok};
    use super::*;

    #[test]
    fn every_scope_is_read() {
        let (config, warnings) = parse_ok(
            "[budget]\nblock_5h_usd = 8\nweekly_usd = 100\nmonthly_usd = 300.5\nsession_tokens = 1000000\n\
             five_hour_pct = 90\nseven_day_pct = 75.5\n\
             daily_tokens = 5000000\ntoken_classes = [\"input\", \"output\"]\n\
             [[budget.project]]\npath = \"~/work/acme/**\"\nbranch = \"main\"\ndaily_usd = 20\nwarn_at = 0.5\n\
             [[budget.project]]\npath = \"/srv/**\"\nsession_usd = 3\n\
             [budget.model.\"claude-opus-*\"]\ndaily_usd = 30\n",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let s = &config.budget.scopes;
        assert_eq!((s.block_5h_usd, s.weekly_usd, s.monthly_usd), (8.0, 100.0, 300.5));
        assert_eq!((s.session_tokens, s.daily_tokens), (1_000_000, 5_000_000));
        assert_eq!(s.token_classes, [TokenClass::Input, TokenClass::Output]);
        assert_eq!(s.projects.len(), 2);
        assert_eq!(s.projects[0].branch.as_deref(), Some("main"));
        assert_eq!((s.projects[0].daily_usd, s.projects[0].warn_at), (20.0, Some(0.5)));
        assert_eq!(s.projects[1].session_usd, 3.0);
        assert_eq!(
            s.models,
            [ModelBudget { pattern: "claude-opus-*".into(), daily_usd: 30.0, ..ModelBudget::default() }]
        );
        assert_eq!((s.five_hour_pct, s.seven_day_pct), (90.0, 75.5));
        assert_eq!(s.reaches_back(), Some(Reach::Month));
        assert_eq!(parse_ok(&super::super::render(&config)).0, config, "written back as read");
    }

    #[test]
    fn bad_scopes_name_their_key() {
        let err = parse_err("[budget]\nweekly_usd = -1\n");
        assert!(err.contains("`budget.weekly_usd`"), "{err}");
        let err = parse_err("[budget]\ntoken_classes = [\"thinking\"]\n");
        assert!(err.contains("`budget.token_classes`") && err.contains("cache_read"), "{err}");
        let err = parse_err("[budget.project]\npath = \"x\"\n");
        assert!(err.contains("`budget.project`") && err.contains("[[budget.project]]"), "{err}");
        let err = parse_err("[[budget.project]]\ndaily_usd = 1\n");
        assert!(err.contains("`budget.project[0]`") && err.contains("path"), "{err}");
        let err = parse_err("[budget.model.\"opus\"]\ndaily_usd = \"a lot\"\n");
        assert!(err.contains("`budget.model.\"opus\".daily_usd`"), "{err}");
        let (_, warnings) = parse_ok("[[budget.project]]\npath = \"/x\"\ndaly_usd = 1\n");
        assert!(
            warnings[0].contains("budget.project[0].daly_usd") && warnings[0].contains("daily_usd"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_user_config_only_adds_limits() {
        let (root, _) = parse_ok(
            "[budget]\nweekly_usd = 100\nsession_tokens = 500\ntoken_classes = [\"output\"]\n\
             [[budget.project]]\npath = \"/w/**\"\ndaily_usd = 10\n",
        );
        let (user, _) = parse_ok(
            "[budget]\nweekly_usd = 200\nmonthly_usd = 50\nsession_tokens = 0\ntoken_classes = [\"input\"]\n\
             [[budget.project]]\npath = \"/**\"\ndaily_usd = 1000\n[budget.model.\"x\"]\ndaily_usd = 1\n",
        );
        let s = super::super::tighten(root, &user).budget.scopes;
        assert_eq!((s.weekly_usd, s.monthly_usd, s.session_tokens), (100.0, 50.0, 500));
        assert_eq!(s.token_classes, [TokenClass::Output, TokenClass::Input]);
        assert_eq!(
            s.projects.iter().map(|p| (p.path.as_str(), p.group)).collect::<Vec<_>>(),
            [("/w/**", 0), ("/**", 1)]
        );
        assert_eq!(s.models.len(), 1);
    }
}
