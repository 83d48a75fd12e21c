//! `ccbreaker doctor [--json] [--send]`: every check of [`crate::doctor`], one line each with its fix, exit 0 when
//! all hold (warnings included) and 1 otherwise. `--send` also sends a test alert through every channel (by running
//! `ccbreaker-net alert test`).

use super::Io;
use super::args::Args;
use crate::doctor::{self, Check, Level};
use crate::error::{Error, exit};

pub(super) fn doctor(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let json = args.flag("--json");
    let send = args.flag("--send");
    args.finish()?;
    let place = super::place(io, "doctor")?;
    let this = std::env::current_exe().ok();
    let cwd = std::env::current_dir().unwrap_or_default();
    let files = doctor::settings_files(&place.env, &cwd, &crate::locked::managed_settings());
    let version = crate::install::client::version();
    let (config_check, config) = doctor::config(&place);
    let mut checks = vec![
        doctor::hooks(&files, &place.env, this.as_deref()),
        doctor::on_path(&files, &place.env, this.as_deref()),
        config_check,
        doctor::state(&place),
        doctor::client(version),
        doctor::on_failure(&files, version),
    ];
    checks.extend(doctor::locked(&place));
    let net = match place.mode.install() {
        Some(install) => Some(crate::paths::net_binary_beside(&install.binary)),
        None => this.as_deref().map(crate::paths::net_binary_beside),
    };
    if let Some(config) = &config {
        checks.push(doctor::alerts(&place, config, net.as_deref()));
        if send && !config.alerts.channels.is_empty() {
            checks.push(sent(net.as_deref()));
        }
        checks.push(doctor::transcripts(&place.env, config));
        checks.extend(doctor::team(&place, config, super::now(io.env)?));
    }
    let failed = checks.iter().any(|c| c.level == Level::Fail);
    if json {
        let out = serde_json::json!({ "ok": !failed, "checks": checks, "settings_files": files });
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&out).expect("checks serialise"))?;
    } else {
        for c in &checks {
            let level = match c.level {
                Level::Ok => "ok  ",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            writeln!(io.stdout, "{level} {:<12} {}", c.name, c.verdict)?;
            if let Some(fix) = c.fix.as_ref().filter(|_| c.level != Level::Ok) {
                writeln!(io.stdout, "     {:<12} fix: {fix}", "")?;
            }
        }
        let verdict = if failed { "some checks fail: fix them as above" } else { "all checks hold" };
        writeln!(io.stdout, "{verdict}")?;
    }
    Ok(if failed { exit::ERROR } else { exit::OK })
}

/// Sends a test alert through every channel (`ccbreaker-net alert test --json`), as a check.
fn sent(net: Option<&std::path::Path>) -> Check {
    let fail = |verdict: String| Check {
        name: "alerts_sent",
        level: Level::Fail,
        verdict,
        fix: Some("see `ccbreaker alert test`".into()),
    };
    let Some(net) = net.filter(|n| n.is_file()) else {
        return fail(format!("`{}` is missing beside ccbreaker", crate::paths::NET_BINARY));
    };
    let output = match std::process::Command::new(net)
        .args(["alert", "test", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(err) => return fail(format!("could not run `{}`: {err}", net.display())),
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&output.stdout) else {
        return fail(String::from_utf8_lossy(&output.stderr).trim().trim_start_matches("ccbreaker: ").to_owned());
    };
    let results: Vec<String> = value["channels"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| match c["error"].as_str() {
            None => format!("{} ok", c["channel"].as_str().unwrap_or("?")),
            Some(why) => format!("{} FAILED: {why}", c["channel"].as_str().unwrap_or("?")),
        })
        .collect();
    let ok = output.status.success();
    Check {
        name: "alerts_sent",
        level: if ok { Level::Ok } else { Level::Fail },
        verdict: format!("test alert: {}", results.join("; ")),
        fix: (!ok).then(|| "fix the channel (the error says how), then `ccbreaker alert test`".to_owned()),
    }
}
