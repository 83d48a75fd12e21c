//! The Claude Code client on `PATH`: its version, and which of the features ccbreaker relies on it has.

/// The first release whose hooks honour `"onFailure": "block"`.
pub(crate) const ON_FAILURE_SINCE: [u32; 3] = [2, 1, 295];
/// The release ccbreaker's mod was built and measured on (mods are early access; 2.1.240 has none).
pub(crate) const MODS_SINCE: [u32; 3] = [2, 1, 331];

/// The version of the `claude` on `PATH` (`claude --version` prints "2.1.331 (Claude Code)"), if there is one.
pub(crate) fn version() -> Option<[u32; 3]> {
    let output = std::process::Command::new("claude")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    parse(&String::from_utf8(output.stdout).ok()?)
}

fn parse(text: &str) -> Option<[u32; 3]> {
    let mut parts = text.split_whitespace().next()?.split('.').map(|p| p.parse::<u32>().ok());
    Some([parts.next()??, parts.next()??, parts.next()??])
}

/// `2.1.331`.
pub(crate) fn show(version: [u32; 3]) -> String {
    version.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_read_from_the_first_word() {
        assert_eq!(super::parse("2.1.331 (Claude Code)\n"), Some([2, 1, 331]));
        assert_eq!(super::parse("claude 2"), None);
        assert!([2, 1, 240] < super::ON_FAILURE_SINCE && [2, 1, 331] >= super::MODS_SINCE);
    }
}
