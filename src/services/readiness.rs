//! Whether a started service is ready: its readiness probe (an HTTP GET answered with a status
//! that counts as ready — a 2xx or 3xx unless the config says otherwise — or a TCP connect) is
//! tried with a backoff until it succeeds, the service exits, or its start timeout passes.

use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::interpolate_config;
use super::process::RunningService;
use crate::config::{ProjectConfig, Readiness, ReadyStatus, ServiceConfig};
use crate::diagnostic::Diagnostic;
use crate::duration::format_duration;
use crate::saturating_time::SaturatingAdd;

/// The first pause between readiness probes; it doubles up to [`PROBE_BACKOFF_MAX`].
const PROBE_BACKOFF_START: Duration = Duration::from_millis(10);
const PROBE_BACKOFF_MAX: Duration = Duration::from_millis(200);
/// One probe may not take longer than this, so a server that accepts and never answers is asked
/// again rather than waited on until the deadline.
const PROBE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// How to ask whether a service is ready.
pub(super) enum Probe {
    /// Ready once started.
    None,
    Http {
        client: reqwest::Client,
        url: reqwest::Url,
        status: ReadyStatus,
    },
    Tcp(String),
}

/// Why one probe did not find the service ready.
pub(super) struct ProbeFailure {
    /// What happened, for the message if it never gets ready.
    pub(super) text: String,
    /// The status the readiness URL answered, when it answered one that does not count.
    pub(super) status: Option<u16>,
}

impl ProbeFailure {
    fn said(text: String) -> ProbeFailure {
        ProbeFailure { text, status: None }
    }
}

impl Probe {
    /// One attempt: `Ok` when ready, else what happened.
    async fn attempt(&self) -> Result<(), ProbeFailure> {
        match self {
            Probe::None => Ok(()),
            Probe::Http {
                client,
                url,
                status: ready,
            } => match client.get(url.clone()).send().await {
                Ok(response) if ready.accepts(response.status().as_u16()) => Ok(()),
                Ok(response) => Err(ProbeFailure {
                    text: format!("GET {url} answered {}", response.status()),
                    status: Some(response.status().as_u16()),
                }),
                Err(error) => Err(ProbeFailure::said(format!(
                    "GET {url}: {}",
                    error_chain(&error)
                ))),
            },
            Probe::Tcp(address) => {
                let connect = tokio::net::TcpStream::connect(address.as_str());
                match tokio::time::timeout(PROBE_ATTEMPT_TIMEOUT, connect).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(ProbeFailure::said(format!(
                        "connecting to {address}: {error}"
                    ))),
                    Err(_) => Err(ProbeFailure::said(format!(
                        "connecting to {address}: no answer within {}",
                        format_duration(PROBE_ATTEMPT_TIMEOUT)
                    ))),
                }
            }
        }
    }
}

/// An error and its causes, `outer: inner: innermost`, since reqwest's own message rarely says
/// more than "error sending request".
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The HTTP client for readiness probes. reqwest is built without a default TLS provider, and
/// building a client with its default TLS setup would panic; probes speak plain HTTP only, so the
/// client gets an explicit rustls config (ring, no trusted roots) that is never used, and nothing
/// is installed process-wide.
fn probe_client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // The service is local; a proxy from the environment would only get in the way.
        .no_proxy()
        // A redirect is an answer of its own (a 3xx counts as ready unless the config says
        // otherwise), not an invitation to probe somewhere else.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PROBE_ATTEMPT_TIMEOUT)
        .build()
        .map_err(|error| error_chain(&error))
}

pub(super) fn probe_for(
    config: &ProjectConfig,
    service: &ServiceConfig,
    lookup: &BTreeMap<String, String>,
    client: &mut Option<reqwest::Client>,
) -> Result<Probe, Diagnostic> {
    match &service.ready {
        None => Ok(Probe::None),
        Some(Readiness::Tcp(address)) => {
            Ok(Probe::Tcp(interpolate_config(config, address, lookup)?))
        }
        Some(Readiness::Http { url, status }) => {
            let text = interpolate_config(config, url, lookup)?;
            let bad_url = |why: String| {
                Diagnostic::error(format!(
                    "the readiness URL of service `{}` is not a plain http:// URL: `{text}` {why}",
                    service.name
                ))
                .at(&config.file, url.span, "")
            };
            let parsed =
                reqwest::Url::parse(&text).map_err(|error| bad_url(format!("({error})")))?;
            if parsed.scheme() != "http" {
                return Err(bad_url(format!("uses {}", parsed.scheme())));
            }
            let client = match client {
                Some(client) => client.clone(),
                None => {
                    let built = probe_client().map_err(|error| {
                        Diagnostic::error(format!(
                            "cannot make an HTTP client for readiness probes: {error}"
                        ))
                    })?;
                    client.insert(built).clone()
                }
            };
            Ok(Probe::Http {
                client,
                url: parsed,
                status: status.clone(),
            })
        }
    }
}

pub(super) enum NotReady {
    /// How it ended (or why it could not be watched).
    Exited(Result<ExitStatus, String>),
    /// With what the last probe found, if one ended before the deadline.
    TimedOut { last: Option<ProbeFailure> },
}

/// Probes until the service answers, exits or runs out of time. The pause between probes is a
/// backoff, not a guess at how long the service needs: each probe either finds it ready or not,
/// and an exit is noticed at once, even mid-probe.
pub(super) async fn wait_ready(
    service: &mut RunningService,
    probe: &Probe,
    timeout: Duration,
) -> Result<(), NotReady> {
    let deadline = Instant::now().saturating_add(timeout);
    let mut backoff = PROBE_BACKOFF_START;
    let mut last = None;
    loop {
        tokio::select! {
            biased;
            exit = service.exited() => return Err(NotReady::Exited(exit)),
            attempt = tokio::time::timeout_at(deadline, probe.attempt()) => match attempt {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(failure)) => last = Some(failure),
                Err(_) => return Err(NotReady::TimedOut { last }),
            },
        }
        if Instant::now() >= deadline {
            return Err(NotReady::TimedOut { last });
        }
        tokio::select! {
            biased;
            exit = service.exited() => return Err(NotReady::Exited(exit)),
            () = tokio::time::sleep_until(Instant::now().saturating_add(backoff).min(deadline)) => {}
        }
        backoff = (backoff * 2).min(PROBE_BACKOFF_MAX);
    }
}
