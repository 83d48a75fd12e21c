//! An audit as JSON, in the shape scripts rely on: every category present, in a fixed order, zero where nothing
//! was found.

use super::{Audit, when};
use serde_json::{Value, json};

pub(crate) fn json(audit: &Audit) -> Value {
    let categories: Vec<Value> = audit
        .categories
        .iter()
        .map(|c| {
            json!({
                "name": c.category.name(),
                "occurrences": c.findings.len(),
                "tokens": c.tokens,
                "cost_usd": c.cost.usd_for_json(),
                "top_sessions": c.top_sessions.iter().map(|(session, n, cost)| json!({
                    "session_id": session,
                    "occurrences": n,
                    "cost_usd": cost.usd_for_json(),
                })).collect::<Vec<_>>(),
                "findings": c.findings.iter().map(|f| json!({
                    "session_id": f.session,
                    "date": when(audit.zone, f.at_ms, f.scope),
                    "detail": f.detail,
                    "cost_usd": f.cost.usd_for_json(),
                })).collect::<Vec<_>>(),
                "suggestion": c.category.suggestion(),
            })
        })
        .collect();
    json!({
        "since": audit.since.map(|d| d.to_string()),
        "until": audit.until.map(|d| d.to_string()),
        "total_cost_usd": audit.total.usd_for_json(),
        "categories": categories,
    })
}
