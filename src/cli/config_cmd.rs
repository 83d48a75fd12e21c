//! `ccbreaker config init|check|path`: write the commented default, validate and show the effective values, or
//! say where the file is.

use super::Io;
use super::args::Args;
use crate::config;
use crate::error::{Error, exit};
use crate::files::{self, Durability};
use crate::paths;

pub(super) fn config(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let sub = args.next_word()?.ok_or_else(|| Error::usage("`config` needs `init`, `check` or `path`"))?;
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
                return Err(Error::Failed(format!(
                    "`{}` already exists; pass --force to overwrite it",
                    path.display()
                )));
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(Error::file("create directory", dir))?;
            }
            files::write_atomic(&path, config::TEMPLATE.as_bytes(), Durability::Synced, None)
                .map_err(Error::file("write", &path))?;
            writeln!(io.stdout, "wrote {}", path.display())?;
        }
        "check" => {
            args.finish()?;
            let loaded = config::load(&path)?;
            crate::sync::prices(io.env, &loaded.config, &path)?;
            for warning in &loaded.warnings {
                writeln!(io.stderr, "ccbreaker: warning: {warning}")?;
            }
            let origin = if loaded.exists { "" } else { " (not found: the defaults apply)" };
            writeln!(io.stdout, "# {}{origin}", path.display())?;
            write!(io.stdout, "{}", config::render(&loaded.config))?;
        }
        other => return Err(Error::usage(format!("unknown `config` command `{other}`"))),
    }
    Ok(exit::OK)
}
