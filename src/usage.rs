//! The token counts of one API response, as the transcript records them: the unit that pricing and the ledger
//! share, so neither depends on the other's representation.

use serde::{Deserialize, Serialize};

/// The model name Claude Code writes on messages it made up itself (errors, interruptions): never an API call,
/// never billed.
pub(crate) const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Tokens (and server-side requests) billed for one response, or summed over many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Prompt-cache writes with the 5-minute TTL (1.25x input price).
    pub cache_creation_5m_tokens: u64,
    /// Prompt-cache writes with the 1-hour TTL (2x input price).
    pub cache_creation_1h_tokens: u64,
    pub cache_read_tokens: u64,
    pub web_search_requests: u64,
}

impl Usage {
    pub fn cache_creation_tokens(&self) -> u64 {
        self.cache_creation_5m_tokens + self.cache_creation_1h_tokens
    }

    /// Every token of the request's prompt: what the long-context tier is decided on.
    pub fn prompt_tokens(&self) -> u64 {
        self.input_tokens + self.cache_creation_tokens() + self.cache_read_tokens
    }

    /// The size used to pick the largest of several copies of one response.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens() + self.output_tokens
    }

    /// The six counts, in a fixed order (input, output, 5-minute writes, 1-hour writes, reads, web searches): how
    /// binary files store a usage.
    pub fn counts(&self) -> [u64; 6] {
        [
            self.input_tokens,
            self.output_tokens,
            self.cache_creation_5m_tokens,
            self.cache_creation_1h_tokens,
            self.cache_read_tokens,
            self.web_search_requests,
        ]
    }

    /// The usage of [`Usage::counts`].
    pub fn from_counts(c: [u64; 6]) -> Usage {
        Usage {
            input_tokens: c[0],
            output_tokens: c[1],
            cache_creation_5m_tokens: c[2],
            cache_creation_1h_tokens: c[3],
            cache_read_tokens: c[4],
            web_search_requests: c[5],
        }
    }

    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_5m_tokens += other.cache_creation_5m_tokens;
        self.cache_creation_1h_tokens += other.cache_creation_1h_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.web_search_requests += other.web_search_requests;
    }

    /// Removes `other`, which must have been added before (saturating, so a corrupt ledger cannot wrap).
    pub fn sub(&mut self, other: &Usage) {
        self.input_tokens = self.input_tokens.saturating_sub(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_sub(other.output_tokens);
        self.cache_creation_5m_tokens = self.cache_creation_5m_tokens.saturating_sub(other.cache_creation_5m_tokens);
        self.cache_creation_1h_tokens = self.cache_creation_1h_tokens.saturating_sub(other.cache_creation_1h_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_sub(other.cache_read_tokens);
        self.web_search_requests = self.web_search_requests.saturating_sub(other.web_search_requests);
    }
}

/// Money in pico-dollars (1e-12 USD): integer, so sums are exact and independent of order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pico(pub u64);

impl Pico {
    pub const PER_USD: u64 = 1_000_000_000_000;

    pub fn from_usd(usd: f64) -> Pico {
        if usd.is_finite() && usd > 0.0 { Pico((usd * Self::PER_USD as f64).round() as u64) } else { Pico(0) }
    }

    pub fn usd(self) -> f64 {
        self.0 as f64 / Self::PER_USD as f64
    }

    /// USD truncated to a millionth of a cent: what JSON output shows (exact enough for parity checks, and free
    /// of float noise such as 0.30000000000000004).
    pub fn usd_for_json(self) -> f64 {
        (self.0 / 10_000) as f64 / 100_000_000.0
    }

    pub fn saturating_add(self, other: Pico) -> Pico {
        Pico(self.0.saturating_add(other.0))
    }

    pub fn saturating_sub(self, other: Pico) -> Pico {
        Pico(self.0.saturating_sub(other.0))
    }
}

impl std::ops::AddAssign for Pico {
    fn add_assign(&mut self, other: Pico) {
        self.0 = self.0.saturating_add(other.0);
    }
}

impl std::fmt::Display for Pico {
    /// Dollars with cents, e.g. `$12.34`; amounts under a cent keep four decimals so they never show as $0.00.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let usd = self.usd();
        if usd > 0.0 && usd < 0.01 { write!(f, "${usd:.4}") } else { write!(f, "${usd:.2}") }
    }
}
