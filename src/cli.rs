//! Command-line definitions (clap) and their validation into the options the commands use.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration::parse_duration;

/// `streamspec --version`: the version, then what this build can read. Every transport is always
/// built in (there are no cargo features to leave one out), so the list is a constant.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ntransports: sse, ndjson, lines, chunks, json, text (HTTP/1.1 and HTTP/2, TLS by rustls), \
     grpc (server reflection, .proto files, descriptor sets), ws and wss (WebSocket, by \
     tungstenite)"
);

/// The exit codes, as the README's table has them (`--help` of streamspec, `run`, `load` and
/// `merge`): scripts and CI decide by them, so the help lists every one, not the common ones.
pub const EXIT_CODES: &str = "\
Exit codes:
  0        every test passed (check: no problems)
  1        a test failed, or a load did (a threshold failed, or without thresholds an
           iteration); decode: the input is not a valid stream; fmt --check: a file is not
           formatted
  2        usage or spec error: a bad flag, a syntax error, a failed static check
  3        setup or output failed: a service from streamspec.toml did not start, a report or the
           output could not be written in full, the HTTP client could not be set up, demo could
           not listen, or the open-file limit is too low to start
  4        no .stream files under the given paths, or no test that --filter/--tag select
  128 + N  stopped by signal N (the services were stopped): 130 Ctrl-C, 143 SIGTERM";

#[derive(Debug, Parser)]
#[command(
    name = "streamspec",
    version,
    long_version = LONG_VERSION,
    about = "Test streaming APIs (SSE, NDJSON, chunked HTTP) with declarative .stream specs",
    long_about = None,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the `run` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run spec files (directories are searched for *.stream files)
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Parse and check spec files without sending any request
    Check(CheckArgs),
    /// Rewrite spec files in the canonical layout, keeping their comments
    Fmt(FmtArgs),
    /// Decode a captured stream into one JSON object per item (a debugging aid)
    Decode(DecodeArgs),
    /// Serve the bundled demo service, which the example specs run against
    Demo(DemoArgs),
    /// Run the tests as many virtual users at once, measure latencies and judge thresholds
    #[command(after_help = EXIT_CODES)]
    Load(LoadArgs),
    /// Merge the JSON reports of the instances of one load (`load --instance K/N`)
    #[command(after_help = EXIT_CODES)]
    Merge(MergeArgs),
    /// Show the pending updates (`name.stream.new`) and accept or reject each
    Review(PendingArgs),
    /// Accept pending updates: each `name.stream.new` replaces its spec
    Accept(PendingArgs),
    /// Reject pending updates: delete the `name.stream.new` files
    Reject(PendingArgs),
    /// Print a shell completion script (for example: `streamspec completions bash`)
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct PendingArgs {
    /// Spec files or directories searched for pending updates [default: .]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Spec files or directories [default: .]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Per-test timeout of the tests that set none; overrides `[defaults] timeout` in
    /// streamspec.toml (default 30s)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Largest item (SSE event, line, chunk, gRPC reply, WebSocket message, whole body) held in
    /// memory, in bytes (suffixes: KiB, MiB)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_item_size: Option<usize>,
    /// Show what each stream did: items, bytes, timing statistics, reconnections, and the items
    /// received before an `abort`; and how tightly each barrier released its branches
    #[arg(short, long)]
    pub verbose: bool,
    /// Rewrite failed expectations with what was observed: `auto` (the default of a bare
    /// `--update`: in place, or nothing when CI is set), `in-place`, `pending` (write
    /// `name.stream.new` for `streamspec review`), or `never`
    #[arg(
        long,
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "auto"
    )]
    pub update: Option<crate::update::UpdateMode>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

impl RunArgs {
    /// The variables set on the command line, `--var` and `--secret` alike.
    pub fn cli_vars(&self) -> Vec<(String, String)> {
        let mut vars = self.vars.vars.clone();
        vars.extend(self.report.secrets.iter().cloned());
        vars
    }
}

/// What `run` reports, and where.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report on standard output
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Also write a JUnit XML report to FILE (written when the run ends)
    #[arg(long, value_name = "FILE")]
    pub report_junit: Option<PathBuf>,
    /// Also write a TAP version 13 report to FILE
    #[arg(long, value_name = "FILE")]
    pub report_tap: Option<PathBuf>,
    /// Also write a JSON Lines report to FILE
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Also write an HTML report to FILE: the summary, each test's failures, and per stream
    /// a timeline of the items and a histogram of the gaps (one file, no script, no network)
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
    /// Set a variable whose value no report shows (`***` in its place)
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub secrets: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For people: a line per test, failures with their diff, a summary
    Human,
    /// TAP version 13, with a YAML block per failure
    Tap,
    /// JSON Lines: one object per event (run_started, test_finished, run_finished)
    Json,
    /// JUnit XML, written when the run ends
    Junit,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec files or directories [default: .]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Spec files or directories [default: .]
    pub paths: Vec<PathBuf>,
    /// Write nothing: show what would change as a diff, and exit 1 if anything would
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct VarArgs {
    /// Set a variable for {{NAME}} (overrides the environment, the config and `let`)
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

// ─── Running at scale: which tests run, how many at once, how often ─────────────────────────────

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// How many tests run at once [default: the number of CPUs]
    #[arg(short, long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<NonZeroUsize>,
    /// Start no new test after the first failure (those running finish)
    #[arg(long)]
    pub fail_fast: bool,
    /// Run only tests whose name, or `file: name` as the output shows it, contains TEXT
    /// (repeatable: any of them)
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Run only tests with this tag (repeatable: any of them)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Do not run tests with this tag (repeatable)
    #[arg(long, value_name = "TAG")]
    pub skip_tag: Vec<String>,
    /// Run only the K-th of N shards of the selected tests (for a CI matrix): every test is in
    /// exactly one shard
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Run each test N times (flaky-stream hunting)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_repeat)]
    pub repeat: u32,
    /// Print where the run's time went, to standard error (for benchmarks)
    #[arg(long, hide = true)]
    pub timings: bool,
}

/// `--shard K/N`: the K-th (from 1) of N shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let usage = || format!("expected K/N, such as `1/4`, got `{text}`");
    let (index, count) = text.split_once('/').ok_or_else(usage)?;
    let index: usize = index.trim().parse().map_err(|_| usage())?;
    let count: usize = count.trim().parse().map_err(|_| usage())?;
    if count == 0 {
        return Err(format!("`{text}` has no shards: N must be at least 1"));
    }
    if index == 0 || index > count {
        return Err(format!(
            "there is no shard {index} of {count}: K goes from 1 to {count}"
        ));
    }
    Ok(Shard { index, count })
}

fn parse_jobs(text: &str) -> Result<NonZeroUsize, String> {
    match text.parse::<usize>() {
        Ok(n) => NonZeroUsize::new(n).ok_or_else(|| "must be at least 1".to_string()),
        Err(_) => Err(format!("`{text}` is not a number of tests")),
    }
}

fn parse_repeat(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a number of runs")),
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    pub shell: clap_complete::Shell,
}

// ─── Load ─────────────────────────────────────────────────────────────────────────────────────

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Spec files or directories [default: .]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Set a variable whose value no report shows
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub secrets: Vec<(String, String)>,
    /// Load only tests whose name, or `file: name`, contains TEXT (repeatable: any of them)
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Load only tests with this tag (repeatable: any of them)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Leave out tests with this tag (repeatable)
    #[arg(long, value_name = "TAG")]
    pub skip_tag: Vec<String>,
    /// Per-iteration timeout of the tests that set none (default: the config's, or 30s)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Largest item held in memory, in bytes (suffixes: KiB, MiB)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_item_size: Option<usize>,

    /// Closed model: this many users, each repeating its test (the start level with --stage)
    #[arg(long, value_name = "N", value_parser = crate::load::settings::parse_users)]
    pub users: Option<u64>,
    /// Open model: start this many iterations per second, however long they take (`50/s`,
    /// `300/m`; the start level with --stage)
    #[arg(long, value_name = "RATE", value_parser = crate::load::settings::parse_rate)]
    pub rate: Option<f64>,
    /// How long the load lasts at its level
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub duration: Option<Duration>,
    /// End after this many iterations in all (across every user and instance)
    #[arg(long, value_name = "N", value_parser = crate::load::settings::parse_users)]
    pub iterations: Option<u64>,
    /// Move the level (users, or the rate) linearly to TARGET over DURATION: `1m:500`;
    /// repeatable, or joined by commas: `30s:100,2m:100,10s:0`
    #[arg(long = "stage", value_name = "DURATION:TARGET", value_parser = crate::load::settings::parse_stages)]
    pub stages: Vec<Vec<crate::load::profile::Stage>>,
    /// Closed model: pause between a user's iterations (`1s`, or `500ms..2s` drawn at random)
    #[arg(long, value_name = "DURATION", value_parser = crate::load::settings::parse_think)]
    pub think: Option<crate::load::profile::Think>,
    /// Open model: the most iterations running at once; an arrival beyond it is dropped and
    /// counted [default: 10000]
    #[arg(long, value_name = "N", value_parser = crate::load::settings::parse_users)]
    pub max_users: Option<u64>,
    /// Closed model: start at most this many users per second (a ramp's connection rate)
    #[arg(long, value_name = "RATE", value_parser = crate::load::settings::parse_rate)]
    pub max_new_users: Option<f64>,
    /// How long iterations still running at the end may take to finish before they are cut
    /// off [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub graceful_stop: Option<Duration>,

    /// Count each iteration's output tokens from this capture: the number it holds (such as
    /// `usage.completion_tokens -> tokens`), or how many values it took (one per token item)
    #[arg(long, value_name = "NAME")]
    pub tokens: Option<String>,
    /// A threshold that decides the exit code: `p99 gap < 100ms`, `errors < 1%`,
    /// `goodput > 50/s` (repeatable; added to the config's `[load] thresholds`)
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// End the run as soon as a threshold fails (after --abort-grace), or can no longer pass
    #[arg(long)]
    pub abort_on_fail: bool,
    /// With --abort-on-fail: judge thresholds only after this long [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "abort_on_fail")]
    pub abort_grace: Option<Duration>,

    /// Run the K-th of N equal parts of the load (users, rates and iterations divided); merge
    /// the parts' --report-json files with `streamspec merge`
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub instance: Option<Shard>,
    /// Start the schedule at this time, so that instances keep in step: Unix seconds, or
    /// RFC 3339 (`2026-12-05T10:00:00Z`)
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,

    /// The summary on standard output: for people, or the JSON report
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LoadFormat::Human)]
    pub format: LoadFormat,
    /// Also write the JSON report (with the 1-second series and the histograms) to FILE
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Also write an HTML report to FILE: latency over time with the users behind it, items/s
    /// and errors/s, the histograms, the thresholds (one file, no script, no network)
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON reports of the instances (`load --instance K/N --report-json FILE`)
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Judge these thresholds instead of those the reports were run with (repeatable)
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// The summary on standard output: for people, or the merged JSON report
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LoadFormat::Human)]
    pub format: LoadFormat,
    /// Also write the merged JSON report to FILE
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Also write the merged HTML report to FILE
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
}

/// `--start-at`: Unix seconds, or an RFC 3339 time.
fn parse_start_at(text: &str) -> Result<std::time::SystemTime, String> {
    if let Ok(seconds) = text.trim().parse::<u64>() {
        return Ok(std::time::UNIX_EPOCH + Duration::from_secs(seconds));
    }
    let time = chrono::DateTime::parse_from_rfc3339(text.trim()).map_err(|_| {
        format!(
            "`{text}` is not a time: write Unix seconds or RFC 3339, such as `2026-12-05T10:00:00Z`"
        )
    })?;
    let millis =
        u64::try_from(time.timestamp_millis()).map_err(|_| format!("`{text}` is before 1970"))?;
    Ok(std::time::UNIX_EPOCH + Duration::from_millis(millis))
}

// ─── Other commands ───────────────────────────────────────────────────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeFormat {
    /// Server-Sent Events: prints {"event", "data", "id"} per dispatched event
    Sse,
    /// Newline-delimited JSON: prints each value
    Ndjson,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The stream's format
    pub format: DecodeFormat,
    /// The captured stream [default: standard input]
    pub file: Option<PathBuf>,
    /// Feed the decoder this many bytes at a time
    #[arg(long, value_name = "N", default_value_t = 65536, value_parser = parse_chunk_size)]
    pub chunk_size: usize,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Address to serve the gRPC demo on (HTTP/2 cleartext) [default: 127.0.0.1:7879]
    ///
    /// When not given and the default address is taken, the demo warns and serves HTTP only.
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
}

impl DemoArgs {
    pub const DEFAULT_GRPC_LISTEN: &str = "127.0.0.1:7879";
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_string());
    }
    Ok(duration)
}

fn parse_chunk_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a number of bytes")),
    }
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got `{text}`"))?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(format!("`{name}` is not a variable name"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// `1048576`, `64KiB`, `16MiB`, `1GiB` (`K`, `M`, `G` and `KB`… are read as binary units too).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as `16MiB`"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}`; use KiB, MiB or GiB")),
    };
    let size = number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if size == 0 {
        return Err("must be larger than zero".to_string());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn shards_are_k_of_n() {
        assert_eq!(parse_shard("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(parse_shard("1/1"), Ok(Shard { index: 1, count: 1 }));
        assert!(parse_shard("0/2").is_err());
        assert!(parse_shard("3/2").is_err());
        assert!(parse_shard("1/0").is_err());
        assert!(parse_shard("x").is_err());
        assert!(parse_shard("1/x").is_err());
    }

    #[test]
    fn vars_need_a_name_and_an_equals_sign() {
        assert_eq!(
            parse_var("base=http://x"),
            Ok(("base".into(), "http://x".into()))
        );
        assert_eq!(parse_var("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("1x=2").is_err());
    }
}
