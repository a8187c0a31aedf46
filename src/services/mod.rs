//! Starting and stopping the services a spec directory needs, with readiness probes.
//!
//! [`RunningServices::start`] chooses a free loopback port for every port name in the config,
//! interpolates the config's variables, then starts each service in file order and waits until
//! its readiness probe answers before starting the next. [`RunningServices::stop`] stops them in
//! reverse order.
//!
//! Each service runs in a process group of its own, so that stopping it stops whatever it started
//! too (a shell script's children, a `cargo run`'s binary). Being in its own group also means a
//! Ctrl-C at the terminal does not reach it: the caller must catch the stop signals (see
//! [`crate::stop_signals`]) and stop or drop the services. Dropping [`RunningServices`] without
//! calling `stop`, as happens on a panic or when the future running the specs is dropped, kills
//! every group at once as a backstop. What a service leaves outside its group (a daemon) is
//! stopped after the services, or killed with them (see [`orphans`]). Nothing in streamspec runs
//! after a SIGKILL of it: the kernel then kills each service's own process, and what that started
//! is left.
//!
//! A service's standard output and error are kept (the last 64 KiB) so that a service that fails
//! to start can be shown with what it printed. Each is watched while the tests run: one that
//! exits is reported by the failed tests after it (see [`ServiceWatch`]).

mod orphans;
mod process;
mod readiness;
mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::config::{
    ConfigString, ProjectConfig, Readiness, ReadyStatus, STREAMSPEC_VAR, ServiceConfig,
};
use crate::diagnostic::Diagnostic;
use crate::duration::format_duration;
use crate::interpolate::interpolate;

use process::{LastPassed, OUTPUT_LINES, RunningService, describe_exit};
use readiness::{NotReady, probe_for, wait_ready};
pub use watch::{ServiceExit, ServiceWatch};

/// How long a service has to exit after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The services of one run, started and ready.
#[derive(Debug)]
pub struct RunningServices {
    vars: BTreeMap<String, String>,
    services: Vec<RunningService>,
    /// The last test that passed, for the watchers to say when a service exited.
    last_passed: LastPassed,
    /// Whether `stop` got as far as stopping the services' orphans.
    orphans_stopped: bool,
    /// Reaps the orphans that exit while the services run.
    reaper: Option<tokio::task::AbortHandle>,
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
            last_passed: LastPassed::default(),
            orphans_stopped: false,
            reaper: None,
        };
        if !config.services.is_empty() {
            orphans::adopt_orphans();
            running.reaper = orphans::spawn_reaper();
        }
        let mut client = None;
        for service in &config.services {
            let last_passed = LastPassed::clone(&running.last_passed);
            match start_service(config, service, &lookup, &mut client, last_passed).await {
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

    /// Each running service's name and process group, for a load run to sample its CPU and
    /// memory (see [`crate::load::sampler`]).
    pub fn process_groups(&self) -> Vec<(String, libc::pid_t)> {
        self.services
            .iter()
            .filter_map(|service| service.pgid.map(|pgid| (service.name.clone(), pgid)))
            .collect()
    }

    /// What the tests need to know of the services while they run: whether one exited.
    pub fn watch(&self) -> ServiceWatch {
        let watched = self
            .services
            .iter()
            .map(|service| watch::Watched {
                name: service.name.clone(),
                defined_at: service.defined_at.clone(),
                state: service.state.clone(),
                output: std::sync::Arc::clone(&service.output),
            })
            .collect();
        ServiceWatch::new(watched, LastPassed::clone(&self.last_passed))
    }

    /// Stops every service (SIGTERM, then SIGKILL after a short grace), waits for them to exit.
    pub async fn stop(mut self) {
        // Last started, first stopped: a service may depend on those before it.
        while let Some(service) = self.services.pop() {
            service.stop(STOP_GRACE).await;
        }
        // What they left outside their groups: daemons.
        orphans::stop(STOP_GRACE).await;
        self.orphans_stopped = true;
    }
}

impl Drop for RunningServices {
    /// The backstop (see the module): each service's drop kills its group, then the orphans
    /// are killed.
    fn drop(&mut self) {
        if let Some(reaper) = &self.reaper {
            reaper.abort();
        }
        if !self.orphans_stopped {
            self.services.clear();
            orphans::kill();
        }
    }
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

/// Starts one service and waits until it is ready; on failure it is stopped and the error says
/// why, with its output.
async fn start_service(
    config: &ProjectConfig,
    service: &ServiceConfig,
    lookup: &BTreeMap<String, String>,
    client: &mut Option<reqwest::Client>,
    last_passed: LastPassed,
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
    command.args(args).current_dir(&cwd);
    for (key, value) in &service.env {
        command.env(key, interpolate_config(config, value, lookup)?);
    }
    let identity = (name.clone(), config.file.location(service.span.start));
    let mut running =
        RunningService::spawn(&mut command, identity, last_passed).map_err(|error| {
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

    let diagnostic = match wait_ready(&mut running, &probe, service.start_timeout).await {
        Ok(()) => return Ok(running),
        Err(NotReady::Exited(Ok(status))) => failure(format!(
            "service `{name}` {} before it was ready",
            describe_exit(&Ok(status))
        )),
        Err(NotReady::Exited(Err(error))) => {
            failure(format!("cannot watch service `{name}`: {error}"))
        }
        Err(NotReady::TimedOut { last }) => {
            let diagnostic = failure(format!(
                "service `{name}` was not ready within {}",
                format_duration(service.start_timeout)
            ));
            match last {
                Some(last) => {
                    let diagnostic = diagnostic.note(format!("the last probe said: {}", last.text));
                    match (last.status, &service.ready) {
                        (Some(seen), Some(Readiness::Http { status, .. })) => {
                            diagnostic.help(not_a_ready_status(status, seen))
                        }
                        _ => diagnostic,
                    }
                }
                None => diagnostic,
            }
        }
    };
    Err(stop_with_output(running, diagnostic).await)
}

/// What to change when the readiness URL answered `seen`, which does not count as ready.
fn not_a_ready_status(ready: &ReadyStatus, seen: u16) -> String {
    if ready.is_default() {
        format!(
            "a readiness URL must answer {}; to count this answer as ready, add `status = {seen}` to `ready`",
            ready.describe()
        )
    } else {
        format!(
            "`ready` waits for {}; to count this answer as ready, add {seen} to its `status`",
            ready.describe()
        )
    }
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

/// The service that the tests below start when they need one that listens.
#[cfg(test)]
#[path = "../../tests/common/test_service.rs"]
mod test_service;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::time::Instant;

    use crate::config;
    use crate::source::SourceFile;
    use crate::style::Palette;

    use super::test_service;

    /// The `[[services]]` entry of the test service (see its module) named `name`, listening on
    /// the port named `port`, with `env` added to its environment (`KEY = "value", …`).
    fn test_service_entry(name: &str, port: &str, env: &str) -> String {
        let env = if env.is_empty() {
            String::new()
        } else {
            format!(", {env}")
        };
        format!(
            "[[services]]\nname = \"{name}\"\nports = [\"{port}\"]\ncommand = {}\n\
             env = {{ {} = \"{{{{{port}}}}}\"{env} }}\n",
            test_service::command(),
            test_service::PORT,
        )
    }

    /// The test service's environment entry that has it write its pid to `path`.
    fn pid_env(path: &Path) -> String {
        format!(
            "{} = {}",
            test_service::PID_FILE,
            quoted(&path.to_string_lossy())
        )
    }

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
             {}ready = {{ tcp = \"127.0.0.1:{{{{port}}}}\" }}\nstart_timeout = \"5s\"\n",
            test_service_entry("listener", "port", &pid_env(&pid_file)),
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

        // Ready means listening, which the service does before writing its pid.
        eventually("the pid is written", || pid_file.exists()).await;
        let pid = read_pid(&pid_file);
        assert!(!gone(pid));
        services.stop().await;
        assert!(gone(pid), "the service outlived stop()");
        let _ = std::fs::remove_file(&pid_file);
    }

    #[tokio::test]
    async fn waits_for_http_readiness() {
        // A process may take a while to start on a busy machine; the first probe that gets an
        // answer must come before the timeout.
        let web = |status: &str, start_timeout: &str| {
            project(&format!(
                "{}ready = {{ http = \"http://127.0.0.1:{{{{web_port}}}}/no-such-page\"{status} }}\n\
                 start_timeout = \"{start_timeout}\"\n",
                test_service_entry("web", "web_port", ""),
            ))
        };
        // A 404 does not count as ready: the URL is wrong, or the routes are not there yet.
        let text = render(
            &RunningServices::start(&web("", "5s"), &exe())
                .await
                .unwrap_err(),
        );
        assert!(
            text.starts_with("error: service `web` was not ready within 5s\n"),
            "{text}"
        );
        assert!(
            text.contains("/no-such-page answered 404 Not Found\n  = help: a readiness URL must answer 2xx or 3xx; to count this answer as ready, add `status = 404` to `ready`\n"),
            "{text}"
        );
        // Unless the config says it does.
        let services = RunningServices::start(&web(", status = 404", "30s"), &exe())
            .await
            .unwrap_or_else(|d| panic!("{}", render(&d)));
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
        // Its health check answers 503, as a server still warming up might.
        let config = project(&format!(
            "{}ready = {{ http = \"http://127.0.0.1:{{{{p}}}}/health\" }}\nstart_timeout = \"2s\"\n",
            test_service_entry(
                "warming",
                "p",
                &format!("{} = \"503\"", test_service::HEALTH_STATUS)
            ),
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
            "{}ready = {{ tcp = \"127.0.0.1:{{{{a}}}}\" }}\n\
             [[services]]\nname = \"second\"\nports = [\"b\"]\ncommand = [\"sh\", \"-c\", \"exit 1\"]\n\
             ready = {{ tcp = \"127.0.0.1:{{{{b}}}}\" }}\n",
            test_service_entry("first", "a", &pid_env(&pid_file)),
        ));
        let error = RunningServices::start(&config, &exe()).await.unwrap_err();
        let text = render(&error);
        assert!(
            text.contains("service `second` exited with code 1"),
            "{text}"
        );
        assert!(text.contains("--> streamspec.toml:7:1"), "{text}");
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
    async fn stopping_cut_short_during_the_grace_period_still_kills_the_group() {
        let pid_file = scratch("cut-short.pid");
        // Ignores SIGTERM, so stopping waits the whole grace period before SIGKILL.
        let config = project(&format!(
            "[[services]]\nname = \"stubborn\"\n\
             command = [\"sh\", \"-c\", \"trap '' TERM; sleep 30 & echo $! > {}; wait\"]\n",
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
        // A second Ctrl-C (or a panic) drops the stopping future during the grace period.
        let stopping = tokio::time::timeout(Duration::from_millis(200), services.stop()).await;
        assert!(stopping.is_err(), "stop() returned within the grace period");
        eventually("the group is gone", || gone(grandchild)).await;
        let _ = std::fs::remove_file(&pid_file);
    }

    #[tokio::test]
    async fn an_exit_during_the_run_is_seen_without_reaping_the_service() {
        let trigger = scratch("exit.trigger");
        let _ = std::fs::remove_file(&trigger);
        let config = project(&format!(
            "[[services]]\nname = \"short-lived\"\n\
             command = [\"sh\", \"-c\", \"echo started; while [ ! -e {} ]; do sleep 0.01; done; echo bye >&2; exit 7\"]\n",
            trigger.display()
        ));
        let services = RunningServices::start(&config, &exe())
            .await
            .unwrap_or_else(|d| panic!("{}", render(&d)));
        let watch = services.watch();
        assert!(watch.exits_for_failure(false).await.is_empty());
        watch.test_passed("a.stream: first");
        std::fs::write(&trigger, "").expect("write the trigger");
        let deadline = Instant::now() + Duration::from_secs(5);
        let exits = loop {
            let exits = watch.exits_for_failure(true).await;
            if !exits.is_empty() || Instant::now() > deadline {
                break exits;
            }
        };
        let [exit] = exits.as_slice() else {
            panic!("{exits:?}")
        };
        let failure = exit.failure();
        assert_eq!(
            failure.message,
            "service `short-lived` exited with code 7 during the run (after test `a.stream: first`)"
        );
        assert_eq!(
            failure.notes,
            [
                "`short-lived` is the service at streamspec.toml:1:1",
                "its output (last 40 lines at most):\nstarted\nbye"
            ]
        );
        assert_eq!(
            exit.reference("a.stream: second").message,
            "service `short-lived` exited with code 7 during the run (after test `a.stream: first`); its output is shown under `a.stream: second`"
        );
        // Seen, not reaped: the dead leader keeps its pid, so its group id cannot be another's
        // when the group is signalled at the end.
        let pid = services.services[0].pgid.expect("a pid");
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("still there");
        assert!(
            state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            "{state}"
        );
        services.stop().await;
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "reaped once stopped"
        );
        let _ = std::fs::remove_file(&trigger);
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
}
