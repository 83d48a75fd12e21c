//! `ccbreaker config init|check|path`: write the commented default, validate and show the effective values, or
//! say where the file is.

use super::args::Args;
use super::{Failure, Io};
use crate::config;
use crate::hook::output::exit;
use crate::paths;

pub(super) fn config(mut args: Args, io: &mut Io) -> Result<u8, Failure> {
    let sub = args.next_word()?.ok_or_else(|| Failure::usage("`config` needs `init`, `check` or `path`"))?;
    let path = paths::config_file(io.env);
    match sub.as_str() {
        "path" => {
            args.finish()?;
            writeln!(io.stdout, "{}", path.display())?;
        }
        "init" => {
            let force = args.flag("--force");
            let human = args.flag("--i-am-human");
            args.finish()?;
            if force {
                // Overwriting resets the budgets to the defaults: a person's decision.
                super::refuse_inside_claude_code(io, "config init --force", human)?;
            }
            if path.exists() && !force {
                return Err(Failure::error(format!(
                    "`{}` already exists; pass --force to overwrite it",
                    path.display()
                )));
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::error(format!("could not create `{}`: {e}", dir.display())))?;
            }
            crate::ledger::store::write_atomic(&path, config::TEMPLATE.as_bytes())
                .map_err(|e| Failure::error(e.to_string()))?;
            writeln!(io.stdout, "wrote {}", path.display())?;
        }
        "check" => {
            args.finish()?;
            let loaded = config::load(&path).map_err(|e| Failure::error(e.to_string()))?;
            loaded.config.pricing.table(&path).map_err(|e| Failure::error(e.to_string()))?;
            for warning in &loaded.warnings {
                writeln!(io.stderr, "ccbreaker: warning: {warning}")?;
            }
            let origin = if loaded.exists { "" } else { " (not found: the defaults apply)" };
            writeln!(io.stdout, "# {}{origin}", path.display())?;
            write!(io.stdout, "{}", config::render(&loaded.config))?;
        }
        other => return Err(Failure::usage(format!("unknown `config` command `{other}`"))),
    }
    Ok(exit::OK)
}
