//! The `ccbreaker` binary: reads the environment once and hands the command line to the library (`cli::run`).

fn main() -> std::process::ExitCode {
    ccbreaker::cli::main(ccbreaker::cli::run)
}
