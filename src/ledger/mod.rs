//! The ledger: what has been counted so far (per file cursors, per session and per day spend) and the index of
//! counted responses, kept in the state directory and shared by every hook process under one lock.
//!
//! Design, for the hot path: one small binary ledger (postcard, a compact serde encoding about ten times cheaper to
//! read and write than JSON) holds the cursors and the spend of the sessions active today and yesterday; it is
//! written alternately into two checksummed slot files (`ledger-a.bin`, `ledger-b.bin`), so a killed hook leaves the
//! last committed ledger intact, never a mix. The index of counted responses (for de-duplication across files: resumed sessions and
//! sidechain replays copy lines) is a binary append-only log per UTC day (`keys/<date>.bin`, 24 bytes a response)
//! whose committed length is recorded in the ledger: records past it belong to a write that never committed and
//! are ignored. Everything in the ledger can be rebuilt from the transcripts; only human decisions
//! (`allowances.json`) cannot, so they live apart.

pub(crate) mod account;
pub(crate) mod keys;
pub(crate) mod overlay;
pub(crate) mod state;
pub(crate) mod store;

pub(crate) use store::LedgerError;
