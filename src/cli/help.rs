//! Every command's help: `ccbreaker COMMAND --help` (or `-h`) prints its usage and flags and exits 0, before any
//! config or state is read. The README's Commands section says the same at more length.

/// The help of `command`, if it is one.
pub(super) fn of(command: &str) -> Option<&'static str> {
    Some(match command {
        "install" => INSTALL,
        "uninstall" => UNINSTALL,
        "status" => STATUS,
        "statusline" => STATUSLINE,
        "doctor" => DOCTOR,
        "exec" => EXEC,
        "report" => REPORT,
        "digest" => DIGEST,
        "audit" => AUDIT,
        "reconcile" => RECONCILE,
        "allow" => ALLOW,
        "alert" => ALERT,
        "log" => LOG,
        "prices" => PRICES,
        "config" => CONFIG,
        "hook" => HOOK,
        "gate" => GATE,
        _ => return None,
    })
}

const INSTALL: &str = "\
Usage: ccbreaker install [--scope user|project|local] [--statusline [--force]] [--dry-run]
       sudo ccbreaker install --locked [--prefix DIR]

Registers ccbreaker's hooks (PreToolUse, PostToolBatch, UserPromptSubmit, Stop, SubagentStop) in a Claude Code
settings file. User and local scope run this binary by its absolute path; project scope, a file meant to be
checked in, runs `ccbreaker hook` by name (each teammate needs ccbreaker on PATH: `ccbreaker doctor` checks).

  --scope S        user (default: ~/.claude/settings.json), project (.claude/settings.json) or local
                   (.claude/settings.local.json)
  --statusline     also set Claude Code's statusLine to `ccbreaker statusline` (an existing statusline is kept
                   unless --force)
  --force          with --statusline: replace an existing statusline
  --dry-run        print the file as it would be on stdout, the changes on stderr; write nothing
  --locked         locked mode, as root: a boundary the agent cannot lift (see the README)
  --prefix DIR     with --locked: where the binaries go (default /usr/local)
";

const UNINSTALL: &str = "\
Usage: ccbreaker uninstall [--scope user|project|local] [--dry-run] [--i-am-human]
       sudo ccbreaker uninstall --locked

Removes ccbreaker's hook entries (and its statusline) from a settings file, and nothing else.

  --scope S        user (default), project or local
  --dry-run        print the file as it would be; write nothing
  --i-am-human     run even inside Claude Code (only on an interactive terminal)
  --locked         remove locked mode's managed hooks and its record (as root)
";

const STATUS: &str = "\
Usage: ccbreaker status [--json] [--session ID] [--compact]

Reads every transcript directory, then shows today's spend against the budgets, each session's spend and state
(with the command that lifts a block), the protection in force, alerts, the last hook call and notes.

  -j, --json       one JSON object
  --session ID     that session, even if it spent nothing today (exit 1 if unknown)
  --compact        the narrow table, whatever the terminal's width
";

const STATUSLINE: &str = "\
Usage: ccbreaker statusline

For Claude Code's statusLine setting (`ccbreaker install --statusline` sets it): reads the statusline JSON on
stdin and prints one line: the session's spend of its budget, the day's, the nearest other budget, plan usage
when Claude Code passes rate_limits, and a marker when the session is blocked, coloured by zone, within COLUMNS.
It reads the ledger as the last hook call left it, without the lock and without reading transcripts.
";

const DOCTOR: &str = "\
Usage: ccbreaker doctor [--json] [--send]

Checks that ccbreaker protects what you think it does: hooks registered (files, scopes, binary paths), the binary
on PATH, the config, the state directory, the Claude Code version and its features, onFailure, locked mode's
boundary, alerts and transcripts. One line per check, with a fix for each that fails. Exit 0 when all hold, 1
otherwise.

  -j, --json       the checks as JSON
  --send           also send a test alert through every configured channel
";

const EXEC: &str = "\
Usage: ccbreaker exec -- COMMAND [ARG...]

Runs COMMAND (e.g. `claude -p ...`) with this terminal and environment, and exits with its exit code, or with 3
and the block reason on stderr when ccbreaker stopped a Claude Code session that COMMAND started (sessions are
identified by a run id the hooks see in their environment, never by time).
";

const REPORT: &str = "\
Usage: ccbreaker report daily|weekly|monthly|session|blocks [--json] [--since DATE] [--until DATE]
                       [--timezone TZ] [--project NAME] [--breakdown] [--compact]

What every transcript on this machine cost, by day, ISO week, month, session or 5-hour block.

  -j, --json       JSON instead of a table
  -s, --since D    first date (YYYY-MM-DD or YYYYMMDD), inclusive
  -u, --until D    last date, inclusive
  -z, --timezone Z UTC, local or an IANA name (default: budget.timezone)
  --project NAME   one project: its directory name, path or last path part
  -b, --breakdown  one row per model under each row
  --compact        the narrow table (fewer columns), whatever the terminal's width
";

const DIGEST: &str = "\
Usage: ccbreaker digest [--since 7d|DATE] [--json] [--send]

The period in a few lines: total, per day, top sessions and projects, blocks, the most expensive model, and the
last reconcile's line. Printed, or sent through the configured alert channels.

  -s, --since P    a number of days (7d, the default) or a date
  -j, --json       JSON instead of text
  --send           send it through the [alerts] channels (and print the result)
";

const AUDIT: &str = "\
Usage: ccbreaker audit [--since DATE] [--until DATE] [--session ID] [--project NAME] [--json] [--html FILE]

Where the money went: waste, cache breaks, overhead creep, anomalies, priced with the budget's table.

  -s, --since D    first date (budget.timezone), inclusive
  -u, --until D    last date, inclusive
  --session ID     one session (its subagents included)
  --project NAME   one project
  -j, --json       JSON instead of the terminal view
  --html FILE      also write a self-contained page
";

const RECONCILE: &str = "\
Usage: ccbreaker reconcile [--since DATE] [--until DATE] [--csv FILE...] [--json] [--session ID]

The local estimate against what Anthropic billed (the Admin API with ANTHROPIC_ADMIN_KEY, or the console's CSV
exports), per UTC day, model, token class and session; flags, the overhead step, and the budget correction's
factors. A new flag is sent through the configured alert channels.

  -s, --since D    first UTC day (default: 30 days ago)
  -u, --until D    last UTC day (default: today)
  --csv FILE...    the console's usage and cost exports instead of the Admin API
  --session ID     only this session
  -j, --json       JSON instead of the table
";

const ALLOW: &str = "\
Usage: ccbreaker allow --session ID [--add-usd N] [--force] [--user NAME|UID] [--i-am-human]
       ccbreaker allow --list [--json]
       ccbreaker allow --revoke ID [--i-am-human]

Lets a blocked session spend N USD more (default: one session budget). Refuses a session the ledger does not
know unless --force. In locked mode, as root (sudo).

  --session ID     the session (as in the block message and `ccbreaker status`)
  --add-usd N      USD to add (0 accepts a tampered transcript without adding money)
  --force          grant to a session ccbreaker has not seen
  --list           the grants in force
  --revoke ID      take a session's grants back
  --user NAME|UID  locked mode: whose session (default: the user who ran sudo)
  --i-am-human     run even inside Claude Code (only on an interactive terminal)
";

const ALERT: &str = "\
Usage: ccbreaker alert test [--json]

Sends a test alert through every channel configured in [alerts] (webhook, ntfy, desktop, command), waits for
each, and reports the result. Exit 1 if a channel failed or none is configured.
";

const LOG: &str = "\
Usage: ccbreaker log [--json] [--limit N]

The audit trail, newest last: blocks (`block`), refused tool calls (`refuse`), blocks by on_error (`error`) and
grants (`allow`, `revoke`).

  -j, --json       JSON instead of text
  --limit N        the last N entries (default 50)
";

const PRICES: &str = "\
Usage: ccbreaker prices list [--json] [--compact]
       ccbreaker prices update [--from FILE|URL] [--force] [--i-am-human]

The price table in force, and new prices from LiteLLM's public table (a URL is read by ccbreaker-net).

  -j, --json       with list: JSON
  --compact        with list: the narrow table, whatever the terminal's width
  --from SOURCE    a file or URL (default: LiteLLM's public table)
  --force          write even a table that lowers a price by half or drops a model
";

const CONFIG: &str = "\
Usage: ccbreaker config init [--force] [--i-am-human] | check | path

  init             write the commented default config (--force overwrites)
  check            validate the config and print the values in effect
  path             print where the config is looked for
";

const HOOK: &str = "\
Usage: ccbreaker hook

What Claude Code runs on each hook event: reads the event JSON on stdin and answers in Claude Code's hook
protocol. Registered by `ccbreaker install`; not meant to be run by hand.
";

const GATE: &str = "\
Usage: ccbreaker gate

What ccbreaker's mod (Claude Code 2.1.331 and later) runs before every model request, subagent spawn and
compaction, and once a request has finished: reads the mod's JSON request on stdin and answers {\"allow\": true} or
{\"allow\": false, \"reason\": ...} on stdout, from the same ledger and verdict as the hook. Written out by
`ccbreaker install`; not meant to be run by hand.
";

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_of_the_usage_has_help() {
        for line in super::super::USAGE.lines() {
            let Some(rest) =
                line.trim_start().strip_prefix("ccbreaker ").or(line.trim_start().strip_prefix("sudo ccbreaker "))
            else {
                continue;
            };
            let command = rest.split_whitespace().next().unwrap();
            if command.starts_with('-') || command.chars().all(|c| c.is_ascii_uppercase()) {
                continue;
            }
            assert!(super::of(command).is_some(), "no help for `{command}`");
        }
    }
}
