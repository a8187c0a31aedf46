//! Starting and stopping the services a spec directory needs, with readiness probes.
//!
//! [`RunningServices::start`] chooses a free loopback port for every port name in the config,
//! interpolates the config's variables, then starts each service in file order and waits until
//! its readiness probe answers before starting the next. [`RunningServices::stop`] stops them in
//! reverse order.
//!
//! Each service runs in a process group of its own, so that stopping it stops whatever it started
//! too (a shell script's children, a `cargo run`'s binary). Being in its own group also means a
//! Ctrl-C at the terminal does not reach it: the caller must catch the interrupt (for example with
//! `tokio::signal::ctrl_c`) and stop or drop the services. Dropping [`RunningServices`] without
//! calling `stop`, as happens on a panic or when the future running the specs is dropped, kills
//! every group at once as a backstop. Nothing can clean up after a SIGKILL of streamspec itself.
//!
//! A service's standard output and error are kept (the last 64 KiB) so that a service that fails
//! to start can be shown with what it printed.

use std::collections::{BTreeMap, VecDeque};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{ConfigString, ProjectConfig, Readiness, STREAMSPEC_VAR, ServiceConfig};
use crate::diagnostic::Diagnostic;
use crate::duration::format_duration;
use crate::interpolate::interpolate;
use crate::saturating_time::SaturatingAdd;

/// How much of a service's output is kept.
const OUTPUT_LIMIT: usize = 64 * 1024;
/// How many lines of it a failure shows.
const OUTPUT_LINES: usize = 40;
/// The first pause between readiness probes; it doubles up to [`PROBE_BACKOFF_MAX`].
const PROBE_BACKOFF_START: Duration = Duration::from_millis(10);
const PROBE_BACKOFF_MAX: Duration = Duration::from_millis(200);
/// One probe may not take longer than this, so a server that accepts and never answers is asked
/// again rather than waited on until the deadline.
const PROBE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a service has to exit after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long to wait for the last of a dead service's output to be read.
const OUTPUT_DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// The services of one run, started and ready.
#[derive(Debug)]
pub struct RunningServices {
    vars: BTreeMap<String, String>,
    services: Vec<RunningService>,
}

impl RunningServices {
    /// Chooses the ports, starts every service in order, waits for each to be ready.
    ///
    /// If one cannot start, those already started are stopped and the error says which failed and
    /// why, pointing at its entry in the config, with what it printed.
    pub async fn start(
        config: &ProjectConfig,
        streamspec_exe: &Path,
    ) -> Result<RunningServices, Diagnostic> {
        let mut vars = choose_ports(config)?;
        // What placeholders in the config can see: the specs' variables and the binary's path.
        let mut lookup = vars.clone();
        lookup.insert(
            STREAMSPEC_VAR.to_string(),
            streamspec_exe.to_string_lossy().into_owned(),
        );
        // In file order: a variable may use those above it.
        for (name, value) in &config.vars {
            let text = interpolate_config(config, value, &lookup)?;
            lookup.insert(name.clone(), text.clone());
            vars.insert(name.clone(), text);
        }

        let mut running = RunningServices {
            vars,
            services: Vec::new(),
        };
        let mut client = None;
        for service in &config.services {
            match start_service(config, service, &lookup, &mut client).await {
                Ok(started) => running.services.push(started),
                Err(diagnostic) => {
                    running.stop().await;
                    return Err(diagnostic);
                }
            }
        }
        Ok(running)
    }

    /// Variables the run gives to specs: config vars (interpolated) plus the chosen ports.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// Stops every service (SIGTERM, then SIGKILL after a short grace), waits for them to exit.
    pub async fn stop(mut self) {
        // Last started, first stopped: a service may depend on those before it.
        while let Some(service) = self.services.pop() {
            service.stop(STOP_GRACE).await;
        }
    }
}

/// One started service.
#[derive(Debug)]
struct RunningService {
    child: Child,
    /// The child's process group, which is its pid; `None` once stopped, so that nothing is ever
    /// signalled twice.
    pgid: Option<libc::pid_t>,
    output: Arc<Mutex<Tail>>,
    readers: Vec<JoinHandle<()>>,
}

impl RunningService {
    /// Stops the service and forgets its output.
    async fn stop(mut self, grace: Duration) {
        self.terminate(grace).await;
        // The readers end by themselves when the group's last writer is gone; a process that
        // left the group could keep a pipe open, and its output is no longer wanted.
        for reader in &self.readers {
            reader.abort();
        }
    }

    /// SIGTERM to the whole group, SIGKILL to it after `grace` (or at once if the leader has
    /// gone, for anything it left behind), then reaps the leader.
    async fn terminate(&mut self, grace: Duration) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, libc::SIGTERM);
            let _ = tokio::time::timeout(grace, self.child.wait()).await;
            signal_group(pgid, libc::SIGKILL);
            // SIGKILL cannot be caught, so this wait is short; the timeout only guards against a
            // process stuck in the kernel.
            let _ = tokio::time::timeout(grace, self.child.wait()).await;
        }
    }

    /// The last lines of output, once the readers have caught up (or briefly tried to).
    async fn output(&mut self) -> String {
        let readers = std::mem::take(&mut self.readers);
        let drained = async {
            for reader in readers {
                let _ = reader.await;
            }
        };
        let _ = tokio::time::timeout(OUTPUT_DRAIN_TIMEOUT, drained).await;
        match self.output.lock() {
            Ok(tail) => tail.last_lines(OUTPUT_LINES),
            Err(poisoned) => poisoned.into_inner().last_lines(OUTPUT_LINES),
        }
    }
}

impl Drop for RunningService {
    /// The backstop: whatever ends the run early, no service outlives it. (`kill_on_drop` alone
    /// would kill only the group leader, not what it started.)
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, libc::SIGKILL);
        }
        for reader in &self.readers {
            reader.abort();
        }
    }
}

fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    // A pgid of 0 or less would signal our own group or everything we may signal.
    if pgid > 0 {
        // SAFETY: kill has no memory-safety preconditions; a failure (the group is gone) is
        // exactly the outcome wanted.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// The end of a stream of output: at most [`OUTPUT_LIMIT`] bytes, older ones dropped.
#[derive(Debug, Default)]
struct Tail {
    bytes: VecDeque<u8>,
    dropped: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        if self.bytes.len() > OUTPUT_LIMIT {
            let excess = self.bytes.len() - OUTPUT_LIMIT;
            self.bytes.drain(..excess);
            self.dropped = true;
        }
    }

    fn last_lines(&self, count: usize) -> String {
        let (front, back) = self.bytes.as_slices();
        let bytes = [front, back].concat();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        let skipped = lines.len().saturating_sub(count);
        let mut out = String::new();
        if skipped > 0 || self.dropped {
            out.push_str("…\n");
        }
        for line in &lines[skipped..] {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// Copies one of the child's pipes into the shared tail until it closes.
fn spawn_reader(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<Tail>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = vec![0; 8192];
        loop {
            match pipe.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut tail) = tail.lock() {
                        tail.push(&buffer[..n]);
                    }
                }
            }
        }
    })
}

/// A free loopback port for every port name. All listeners are held until every port is chosen,
/// so no two names get the same port; between dropping them and the service binding, another
/// process could take one, which the service's start failure would then show.
fn choose_ports(config: &ProjectConfig) -> Result<BTreeMap<String, String>, Diagnostic> {
    let mut ports = BTreeMap::new();
    let mut listeners = Vec::new();
    for service in &config.services {
        for name in &service.ports {
            let bound = std::net::TcpListener::bind(("127.0.0.1", 0))
                .and_then(|listener| Ok((listener.local_addr()?.port(), listener)));
            match bound {
                Ok((port, listener)) => {
                    listeners.push(listener);
                    ports.insert(name.clone(), port.to_string());
                }
                Err(error) => {
                    return Err(Diagnostic::error(format!(
                        "could not find a free port for `{name}`: {error}"
                    ))
                    .at(&config.file, service.span, "in this service"));
                }
            }
        }
    }
    Ok(ports)
}

/// Interpolates a config string; the loader has checked every placeholder, so an error here means
/// the config was built some other way, and is reported at the placeholder all the same.
fn interpolate_config(
    config: &ProjectConfig,
    text: &ConfigString,
    lookup: &BTreeMap<String, String>,
) -> Result<String, Diagnostic> {
    interpolate(&text.text, |name| lookup.get(name).cloned()).map_err(|error| {
        let at = text.span_of(&config.file, error.range());
        Diagnostic::error(error.to_string()).at(&config.file, at, "")
    })
}

/// How to ask whether a service is ready.
enum Probe {
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
fn error_chain(error: &dyn std::error::Error) -> String {
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

fn probe_for(
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

/// Starts one service and waits until it is ready; on failure it is stopped and the error says
/// why, with its output.
async fn start_service(
    config: &ProjectConfig,
    service: &ServiceConfig,
    lookup: &BTreeMap<String, String>,
    client: &mut Option<reqwest::Client>,
) -> Result<RunningService, Diagnostic> {
    let name = &service.name;
    let failure = |message: String| {
        Diagnostic::error(message).at(&config.file, service.span, format!("service `{name}`"))
    };
    let command = service
        .command
        .iter()
        .map(|arg| interpolate_config(config, arg, lookup))
        .collect::<Result<Vec<_>, _>>()?;
    let Some((program, args)) = command.split_first() else {
        return Err(failure(format!("service `{name}` has no command")));
    };
    let probe = probe_for(config, service, lookup, client)?;

    let cwd = service.cwd.as_deref().unwrap_or(&config.dir);
    // Absolute, so that it and a relative program in it mean the same whatever the current
    // directory and however the platform resolves a relative program after changing directory.
    let cwd = std::path::absolute(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    if !cwd.is_dir() {
        return Err(failure(format!(
            "cannot start service `{name}`: its working directory {} does not exist",
            cwd.display()
        )));
    }
    let program_path = Path::new(program);
    let program_path: PathBuf = if program_path.is_relative() && program.contains('/') {
        cwd.join(program_path)
    } else {
        program_path.to_path_buf()
    };

    let mut command = Command::new(&program_path);
    command
        .args(args)
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // A group of its own, so a signal to the group reaches everything the service starts.
        .process_group(0);
    for (key, value) in &service.env {
        command.env(key, interpolate_config(config, value, lookup)?);
    }
    let mut child = command.spawn().map_err(|error| {
        let diagnostic = if error.kind() == std::io::ErrorKind::NotFound {
            failure(format!(
                "cannot start service `{name}`: program `{program}` not found"
            ))
        } else {
            failure(format!(
                "cannot start service `{name}`: cannot run `{program}`: {error}"
            ))
        };
        if program.contains('/') {
            diagnostic
        } else {
            diagnostic.note("a program without a `/` is looked for on PATH")
        }
    })?;

    let output = Arc::new(Mutex::new(Tail::default()));
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(spawn_reader(stdout, Arc::clone(&output)));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(spawn_reader(stderr, Arc::clone(&output)));
    }
    let pgid = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
    let mut running = RunningService {
        child,
        pgid,
        output,
        readers,
    };

    let diagnostic = match wait_ready(&mut running.child, &probe, service.start_timeout).await {
        Ok(()) => return Ok(running),
        Err(NotReady::Exited(status)) => failure(format!(
            "service `{name}` {} before it was ready",
            describe_exit(status)
        )),
        Err(NotReady::WaitFailed(error)) => {
            failure(format!("cannot watch service `{name}`: {error}"))
        }
        Err(NotReady::TimedOut { last_error }) => {
            let diagnostic = failure(format!(
                "service `{name}` was not ready within {}",
                format_duration(service.start_timeout)
            ));
            match last_error {
                Some(last_error) => diagnostic.note(format!("the last probe said: {last_error}")),
                None => diagnostic,
            }
        }
    };
    Err(stop_with_output(running, diagnostic).await)
}

/// Stops a service that failed to start and adds what it printed to the error.
async fn stop_with_output(mut running: RunningService, diagnostic: Diagnostic) -> Diagnostic {
    // Stopped first, so that its pipes close and the output is complete.
    running.terminate(STOP_GRACE).await;
    let output = running.output().await;
    if output.trim().is_empty() {
        diagnostic.note("it printed nothing")
    } else {
        diagnostic.note(format!(
            "its output (last {OUTPUT_LINES} lines at most):\n{}",
            output.trim_end()
        ))
    }
}

enum NotReady {
    Exited(ExitStatus),
    WaitFailed(std::io::Error),
    TimedOut { last_error: Option<String> },
}

/// Probes until the service answers, exits or runs out of time. The pause between probes is a
/// backoff, not a guess at how long the service needs: each probe either finds it ready or not,
/// and an exit is noticed at once, even mid-probe.
async fn wait_ready(child: &mut Child, probe: &Probe, timeout: Duration) -> Result<(), NotReady> {
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

/// "exited with code 3", "was killed by signal 9 (SIGKILL)".
fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    if let Some(signal) = status.signal() {
        let name = match signal {
            libc::SIGHUP => " (SIGHUP)",
            libc::SIGINT => " (SIGINT)",
            libc::SIGABRT => " (SIGABRT)",
            libc::SIGKILL => " (SIGKILL)",
            libc::SIGSEGV => " (SIGSEGV)",
            libc::SIGTERM => " (SIGTERM)",
            _ => "",
        };
        return format!("was killed by signal {signal}{name}");
    }
    format!("exited ({status})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::source::SourceFile;
    use crate::style::Palette;

    /// Listens on 127.0.0.1:PORT (argv[1]) and holds the socket; connects succeed from the
    /// backlog without an accept. It writes its pid to argv[2] when that is given.
    const TCP_LISTENER: &str = "import os, socket, sys, time\n\
        s = socket.socket()\n\
        s.bind(('127.0.0.1', int(sys.argv[1])))\n\
        s.listen()\n\
        print('listening', flush=True)\n\
        len(sys.argv) > 2 and open(sys.argv[2], 'w').write(str(os.getpid()))\n\
        time.sleep(60)\n";

    fn project(text: &str) -> ProjectConfig {
        match config::parse(SourceFile::new("streamspec.toml", text)) {
            Ok(config) => config,
            Err(errors) => panic!(
                "{}",
                errors
                    .iter()
                    .map(|d| d.render(&Palette::plain()))
                    .collect::<String>()
            ),
        }
    }

    /// A TOML string literal.
    fn quoted(text: &str) -> String {
        format!("{text:?}")
    }

    fn exe() -> PathBuf {
        PathBuf::from("/path/to/streamspec")
    }

    /// A path for a test's scratch file, unique to the process and the name.
    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("streamspec-services-{}-{name}", std::process::id()))
    }

    /// Whether a process is gone (or a zombie, which is as good as gone: it runs nothing).
    fn gone(pid: libc::pid_t) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // The state follows the command name in parentheses, which may contain spaces.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        }
    }

    /// Waits up to 5 s for something observable to happen, polling; a timeout is a failure.
    async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn read_pid(path: &Path) -> libc::pid_t {
        let text = std::fs::read_to_string(path).expect("pid file");
        text.trim().parse().expect("a pid")
    }

    fn render(diagnostic: &Diagnostic) -> String {
        diagnostic.render(&Palette::plain())
    }

    #[tokio::test]
    async fn starts_a_tcp_service_gives_its_port_and_stops_it() {
        let pid_file = scratch("tcp.pid");
        let config = project(&format!(
            "[vars]\nbase = \"http://127.0.0.1:{{{{port}}}}\"\napi = \"{{{{base}}}}/api\"\nexe = \"{{{{streamspec}}}}\"\n\
             [[services]]\nname = \"listener\"\nports = [\"port\"]\n\
             command = [\"python3\", \"-c\", {}, \"{{{{port}}}}\", {}]\n\
             ready = {{ tcp = \"127.0.0.1:{{{{port}}}}\" }}\nstart_timeout = \"5s\"\n",
            quoted(TCP_LISTENER),
            quoted(&pid_file.to_string_lossy()),
        ));
        let services = RunningServices::start(&config, &exe())
            .await
            .unwrap_or_else(|d| panic!("{}", render(&d)));
        let vars = services.vars();
        let port: u16 = vars["port"].parse().expect("a port number");
        assert_ne!(port, 0);
        assert_eq!(vars["base"], format!("http://127.0.0.1:{port}"));
        assert_eq!(vars["api"], format!("http://127.0.0.1:{port}/api"));
        assert_eq!(vars["exe"], "/path/to/streamspec");
        // The binary's path is for the config, not a variable of the specs.
        assert!(!vars.contains_key("streamspec"));
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("the service listens");

        // Ready means listening, which the script does before writing its pid.
        eventually("the pid is written", || pid_file.exists()).await;
        let pid = read_pid(&pid_file);
        assert!(!gone(pid));
        services.stop().await;
        assert!(gone(pid), "the service outlived stop()");
        let _ = std::fs::remove_file(&pid_file);
    }

    #[tokio::test]
    async fn waits_for_http_readiness() {
        let config = project(
            "[[services]]\nname = \"web\"\nports = [\"web_port\"]\n\
             command = [\"python3\", \"-m\", \"http.server\", \"{{web_port}}\", \"--bind\", \"127.0.0.1\"]\n\
             ready = { http = \"http://127.0.0.1:{{web_port}}/no-such-page\" }\n",
        );
        let services = RunningServices::start(&config, &exe())
            .await
            .unwrap_or_else(|d| panic!("{}", render(&d)));
        // A 404 counts as ready: the server answered.
        let port = &services.vars()["web_port"];
        let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .expect("the server is up");
        use tokio::io::AsyncWriteExt;
        stream
            .write_all(b"GET / HTTP/1.0\r\n\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(
            answer.starts_with(b"HTTP/1.0 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        services.stop().await;
    }

    #[tokio::test]
    async fn server_errors_do_not_count_as_ready() {
        // Answers every request with 503, as a server still warming up might.
        let script = "import http.server, sys\n\
            class H(http.server.BaseHTTPRequestHandler):\n    \
                def do_GET(self):\n        self.send_error(503)\n\
            http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n";
        let config = project(&format!(
            "[[services]]\nname = \"warming\"\nports = [\"p\"]\n\
             command = [\"python3\", \"-c\", {}, \"{{{{p}}}}\"]\n\
             ready = {{ http = \"http://127.0.0.1:{{{{p}}}}/health\" }}\nstart_timeout = \"2s\"\n",
            quoted(script)
        ));
        let text = render(&RunningServices::start(&config, &exe()).await.unwrap_err());
        assert!(
            text.starts_with("error: service `warming` was not ready within 2s\n"),
            "{text}"
        );
        assert!(
            text.contains("/health answered 503 Service Unavailable\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_readiness_url_must_be_plain_http_once_interpolated() {
        let config = project(
            "[vars]\nbase = \"ftp://127.0.0.1\"\n\
             [[services]]\nname = \"a\"\ncommand = [\"true\"]\nready = { http = \"{{base}}/\" }\n",
        );
        assert_eq!(
            render(&RunningServices::start(&config, &exe()).await.unwrap_err()),
            "error: the readiness URL of service `a` is not a plain http:// URL: `ftp://127.0.0.1/` uses ftp\n --> streamspec.toml:6:18\n  |\n6 | ready = { http = \"{{base}}/\" }\n  |                  ^^^^^^^^^^^\n"
        );
    }

    #[tokio::test]
    async fn an_early_exit_is_reported_with_status_output_env_and_cwd() {
        let config = project(
            "[[services]]\nname = \"broken\"\nports = [\"p\"]\n\
             command = [\"sh\", \"-c\", \"echo \\\"$GREETING from $(pwd)\\\"; echo oops >&2; exit 3\"]\n\
             cwd = \"src\"\nenv = { GREETING = \"hello {{p}}\" }\n\
             ready = { tcp = \"127.0.0.1:{{p}}\" }\n",
        );
        let started = Instant::now();
        let error = RunningServices::start(&config, &exe()).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "noticed the exit late"
        );
        let text = render(&error);
        let cwd = std::path::absolute("src").expect("cwd");
        assert!(
            text.starts_with(
                "error: service `broken` exited with code 3 before it was ready\n --> streamspec.toml:1:1\n  |\n1 | [[services]]\n  | ^^^^^^^^^^^^ service `broken`\n  |\n  = note: its output (last 40 lines at most):\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "hello {} from {}",
                error_port(&text),
                cwd.display()
            )),
            "{text}"
        );
        assert!(text.contains("oops"), "{text}");
    }

    /// The port in "hello PORT from", which the test cannot know beforehand.
    fn error_port(text: &str) -> String {
        text.split("hello ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("")
            .to_string()
    }

    #[tokio::test]
    async fn a_missing_program_is_reported() {
        let config = project(
            "[[services]]\nname = \"ghost\"\ncommand = [\"streamspec-no-such-program\", \"x\"]\n",
        );
        let error = RunningServices::start(&config, &exe()).await.unwrap_err();
        assert_eq!(
            render(&error),
            "error: cannot start service `ghost`: program `streamspec-no-such-program` not found\n --> streamspec.toml:1:1\n  |\n1 | [[services]]\n  | ^^^^^^^^^^^^ service `ghost`\n  |\n  = note: a program without a `/` is looked for on PATH\n"
        );
        let config =
            project("[[services]]\nname = \"ghost\"\ncommand = [\"x\"]\ncwd = \"no/such/dir\"\n");
        let text = render(&RunningServices::start(&config, &exe()).await.unwrap_err());
        assert!(text.contains("its working directory"), "{text}");
        assert!(text.contains("no/such/dir does not exist"), "{text}");
    }

    #[tokio::test]
    async fn a_service_that_never_gets_ready_times_out_and_is_stopped() {
        let pid_file = scratch("slow.pid");
        let config = project(&format!(
            "[[services]]\nname = \"slow\"\nports = [\"p\"]\n\
             command = [\"sh\", \"-c\", \"echo $$ > {}; echo waiting; exec sleep 30\"]\n\
             ready = {{ tcp = \"127.0.0.1:{{{{p}}}}\" }}\nstart_timeout = \"1s\"\n",
            pid_file.display()
        ));
        let started = Instant::now();
        let error = RunningServices::start(&config, &exe()).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        let text = render(&error);
        assert!(
            text.starts_with("error: service `slow` was not ready within 1s\n"),
            "{text}"
        );
        assert!(
            text.contains("= note: the last probe said: connecting to 127.0.0.1:"),
            "{text}"
        );
        assert!(text.contains("Connection refused"), "{text}");
        assert!(
            text.contains("= note: its output (last 40 lines at most):\n    waiting\n"),
            "{text}"
        );
        assert!(
            gone(read_pid(&pid_file)),
            "the slow service was left running"
        );
        let _ = std::fs::remove_file(&pid_file);
    }

    #[tokio::test]
    async fn services_started_before_a_failure_are_stopped() {
        let pid_file = scratch("first.pid");
        let config = project(&format!(
            "[[services]]\nname = \"first\"\nports = [\"a\"]\n\
             command = [\"python3\", \"-c\", {}, \"{{{{a}}}}\", {}]\n\
             ready = {{ tcp = \"127.0.0.1:{{{{a}}}}\" }}\n\
             [[services]]\nname = \"second\"\nports = [\"b\"]\ncommand = [\"sh\", \"-c\", \"exit 1\"]\n\
             ready = {{ tcp = \"127.0.0.1:{{{{b}}}}\" }}\n",
            quoted(TCP_LISTENER),
            quoted(&pid_file.to_string_lossy()),
        ));
        let error = RunningServices::start(&config, &exe()).await.unwrap_err();
        let text = render(&error);
        assert!(
            text.contains("service `second` exited with code 1"),
            "{text}"
        );
        assert!(text.contains("--> streamspec.toml:6:1"), "{text}");
        assert!(text.contains("= note: it printed nothing"), "{text}");
        eventually("the first pid is written", || pid_file.exists()).await;
        assert!(
            gone(read_pid(&pid_file)),
            "the first service outlived the failure"
        );
        let _ = std::fs::remove_file(&pid_file);
    }

    #[tokio::test]
    async fn stopping_reaches_the_whole_group_and_kills_what_ignores_sigterm() {
        let pid_file = scratch("group.pid");
        // The shell ignores SIGTERM, and so does the sleep it starts, which is not the group
        // leader: only SIGKILL to the group ends both.
        let config = project(&format!(
            "[[services]]\nname = \"stubborn\"\n\
             command = [\"sh\", \"-c\", \"trap '' TERM; sleep 30 & echo $! > {}; wait\"]\n",
            pid_file.display()
        ));
        let mut services = RunningServices::start(&config, &exe())
            .await
            .unwrap_or_else(|d| panic!("{}", render(&d)));
        eventually("the pid is written", || {
            std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
        })
        .await;
        let grandchild = read_pid(&pid_file);
        assert!(!gone(grandchild));
        let service = services.services.pop().expect("one service");
        let leader = service.pgid.expect("running");
        let started = Instant::now();
        service.stop(Duration::from_millis(100)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        eventually("the group is gone", || gone(leader) && gone(grandchild)).await;
        let _ = std::fs::remove_file(&pid_file);
    }

    #[tokio::test]
    async fn dropping_the_services_kills_them() {
        let pid_file = scratch("dropped.pid");
        let config = project(&format!(
            "[[services]]\nname = \"orphan\"\ncommand = [\"sh\", \"-c\", \"sleep 30 & echo $! > {}; wait\"]\n",
            pid_file.display()
        ));
        let services = RunningServices::start(&config, &exe())
            .await
            .unwrap_or_else(|d| panic!("{}", render(&d)));
        eventually("the pid is written", || {
            std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
        })
        .await;
        let grandchild = read_pid(&pid_file);
        drop(services);
        eventually("the dropped service is gone", || gone(grandchild)).await;
        let _ = std::fs::remove_file(&pid_file);
    }

    #[test]
    fn the_tail_keeps_the_last_bytes_and_lines() {
        let mut tail = Tail::default();
        tail.push(b"one\ntwo\n");
        assert_eq!(tail.last_lines(40), "one\ntwo\n");
        assert_eq!(tail.last_lines(1), "…\ntwo\n");
        for i in 0..20_000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        assert_eq!(tail.bytes.len(), OUTPUT_LIMIT);
        let last = tail.last_lines(2);
        assert_eq!(last, "…\nline 19998\nline 19999\n");
    }

    #[test]
    fn exits_are_described_in_words() {
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8)),
            "exited with code 3"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(libc::SIGKILL)),
            "was killed by signal 9 (SIGKILL)"
        );
    }
}
