//! HTTP for the commands of `ccbreaker-net` (`reconcile`, `prices update` from a URL, alert delivery): one client set-up, so
//! both read the network alike (a time limit on every request, ccbreaker's user agent, a cap on the body, an HTTP
//! error status as an answer to judge rather than a failure). Only `ccbreaker-net` calls into this module: nothing
//! that `ccbreaker` runs reaches it, so the hook's binary links none of the HTTP and TLS code.

use std::time::Duration;

/// An HTTP client whose every request gives up after its timeout.
pub(crate) struct Http {
    agent: ureq::Agent,
}

/// An answer: its status, its `Retry-After` header and its body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("no answer within the time allowed")]
    Timeout,
    /// Boxed, so that a module that only names this type links none of the client.
    #[error(transparent)]
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

impl From<ureq::Error> for HttpError {
    fn from(err: ureq::Error) -> HttpError {
        match err {
            ureq::Error::Timeout(_) => HttpError::Timeout,
            err => HttpError::Transport(Box::new(err)),
        }
    }
}

impl Http {
    pub(crate) fn new(timeout: Duration) -> Http {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("ccbreaker/", env!("CARGO_PKG_VERSION")))
            .build();
        Http { agent: config.into() }
    }

    /// `GET url?query` with `headers`; a body longer than `max_body` bytes is an error.
    pub(crate) fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        query: &[(String, String)],
        max_body: u64,
    ) -> Result<Reply, HttpError> {
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.query_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str()))).call()?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.body_mut().with_config().limit(max_body).read_to_vec()?;
        Ok(Reply { status, retry_after, body })
    }

    /// `POST url` with `headers` and `body`; the answer's body is read up to `max_body` bytes.
    pub(crate) fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_body: u64,
    ) -> Result<Reply, HttpError> {
        let mut request = self.agent.post(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send(body)?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.body_mut().with_config().limit(max_body).read_to_vec()?;
        Ok(Reply { status, retry_after, body })
    }
}

/// How long `prices update --from URL` waits for the whole table.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The body at `url`, at most `max_body` bytes: what `prices update --from URL` reads (see `cli::prices::Fetch`).
pub(crate) fn fetch(url: &str, max_body: u64) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let reply = Http::new(FETCH_TIMEOUT).get(url, &[], &[], max_body)?;
    if !(200..300).contains(&reply.status) {
        return Err(format!("the server answered HTTP {}", reply.status).into());
    }
    Ok(reply.body)
}
