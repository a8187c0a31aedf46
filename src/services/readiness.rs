//! Whether a started service is ready: its readiness probe (an HTTP GET that gets any answer
//! below 500, or a TCP connect) is tried with a backoff until it succeeds, the service exits, or
//! its start timeout passes.

use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Child;
use tokio::time::Instant;

use super::interpolate_config;
use crate::config::{ProjectConfig, Readiness, ServiceConfig};
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
    },
    Tcp(String),
}

impl Probe {
    /// One attempt: `Ok` when ready, else what happened, for the message if it never is.
    async fn attempt(&self) -> Result<(), String> {
        match self {
            Probe::None => Ok(()),
            Probe::Http { client, url } => match client.get(url.clone()).send().await {
                Ok(response) if response.status().as_u16() < 500 => Ok(()),
                Ok(response) => Err(format!("GET {url} answered {}", response.status())),
                Err(error) => Err(format!("GET {url}: {}", error_chain(&error))),
            },
            Probe::Tcp(address) => {
                let connect = tokio::net::TcpStream::connect(address.as_str());
                match tokio::time::timeout(PROBE_ATTEMPT_TIMEOUT, connect).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(format!("connecting to {address}: {error}")),
                    Err(_) => Err(format!(
                        "connecting to {address}: no answer within {}",
                        format_duration(PROBE_ATTEMPT_TIMEOUT)
                    )),
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
        // Any answer below 500 means the server is up, a redirect included.
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
        Some(Readiness::Http(url)) => {
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
            })
        }
    }
}

pub(super) enum NotReady {
    Exited(ExitStatus),
    WaitFailed(std::io::Error),
    TimedOut { last_error: Option<String> },
}

/// Probes until the service answers, exits or runs out of time. The pause between probes is a
/// backoff, not a guess at how long the service needs: each probe either finds it ready or not,
/// and an exit is noticed at once, even mid-probe.
pub(super) async fn wait_ready(
    child: &mut Child,
    probe: &Probe,
    timeout: Duration,
) -> Result<(), NotReady> {
    let deadline = Instant::now().saturating_add(timeout);
    let mut backoff = PROBE_BACKOFF_START;
    let mut last_error = None;
    let exited = |status: std::io::Result<ExitStatus>| match status {
        Ok(status) => NotReady::Exited(status),
        Err(error) => NotReady::WaitFailed(error),
    };
    loop {
        tokio::select! {
            biased;
            status = child.wait() => return Err(exited(status)),
            attempt = tokio::time::timeout_at(deadline, probe.attempt()) => match attempt {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error)) => last_error = Some(error),
                Err(_) => return Err(NotReady::TimedOut { last_error }),
            },
        }
        if Instant::now() >= deadline {
            return Err(NotReady::TimedOut { last_error });
        }
        tokio::select! {
            biased;
            status = child.wait() => return Err(exited(status)),
            () = tokio::time::sleep_until(Instant::now().saturating_add(backoff).min(deadline)) => {}
        }
        backoff = (backoff * 2).min(PROBE_BACKOFF_MAX);
    }
}
