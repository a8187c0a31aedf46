//! The loading of `streamspec.toml`: valid files, and the errors of invalid ones.

use super::*;
use crate::style::Palette;

fn parse_text(text: &str) -> Result<ProjectConfig, Vec<Diagnostic>> {
    parse(SourceFile::new("specs/streamspec.toml", text))
}

/// Every diagnostic for `text`, rendered plain, one after the other.
fn errors(text: &str) -> String {
    match parse_text(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(errors) => errors
            .iter()
            .map(|d| d.render(&Palette::plain()))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

const EXAMPLE: &str = r#"
# Variables every spec under this directory can use as {{name}}.
[vars]
base = "http://127.0.0.1:{{demo_port}}"
api = "{{ base }}/api"
retries = 3

[defaults]
timeout = "30s"

[[services]]
name = "demo"
ports = ["demo_port", "admin_port"]
command = ["{{streamspec}}", "demo", "--listen", "127.0.0.1:{{demo_port}}"]
cwd = "server"
env = { RUST_LOG = "info", API = "{{api}}" }
ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
start_timeout = "1.5s"

[[services]]
name = "db"
command = ["./db", "--port", "{{db_port}}"]
ports = ["db_port"]
ready = { tcp = "127.0.0.1:{{db_port}}" }
"#;

#[test]
fn reads_a_valid_file() {
    let config = parse_text(EXAMPLE).expect("valid");
    assert_eq!(config.dir, Path::new("specs"));
    let vars: Vec<_> = config
        .vars
        .iter()
        .map(|(name, value)| (name.as_str(), value.text.as_str()))
        .collect();
    // File order, not the parser's sorted order: later vars may use earlier ones.
    assert_eq!(
        vars,
        [
            ("base", "http://127.0.0.1:{{demo_port}}"),
            ("api", "{{ base }}/api"),
            ("retries", "3"),
        ]
    );
    assert_eq!(
        config.file.slice(config.vars[0].1.span),
        "\"http://127.0.0.1:{{demo_port}}\""
    );
    assert_eq!(config.defaults.timeout, Some(Duration::from_secs(30)));
    assert_eq!(config.services.len(), 2);

    let demo = &config.services[0];
    assert_eq!(demo.name, "demo");
    assert_eq!(demo.ports, ["demo_port", "admin_port"]);
    let command: Vec<_> = demo.command.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        command,
        [
            "{{streamspec}}",
            "demo",
            "--listen",
            "127.0.0.1:{{demo_port}}"
        ]
    );
    assert_eq!(demo.cwd.as_deref(), Some(Path::new("specs/server")));
    let env: Vec<_> = demo
        .env
        .iter()
        .map(|(name, value)| (name.as_str(), value.text.as_str()))
        .collect();
    assert_eq!(env, [("RUST_LOG", "info"), ("API", "{{api}}")]);
    assert!(
        matches!(&demo.ready, Some(Readiness::Http { url, status }) if url.text == "http://127.0.0.1:{{demo_port}}/health" && status.is_default())
    );
    assert_eq!(demo.start_timeout, Duration::from_millis(1500));
    assert_eq!(config.file.slice(demo.span), "[[services]]");

    let db = &config.services[1];
    assert_eq!(db.name, "db");
    assert_eq!(db.cwd, None);
    assert!(
        matches!(&db.ready, Some(Readiness::Tcp(addr)) if addr.text == "127.0.0.1:{{db_port}}")
    );
    assert_eq!(db.start_timeout, Duration::from_secs(30));

    let names: Vec<_> = config.var_names().collect();
    assert_eq!(
        names,
        [
            "base",
            "api",
            "retries",
            "demo_port",
            "admin_port",
            "db_port"
        ]
    );
}

#[test]
fn secrets_name_variables() {
    let config =
        parse_text("secrets = [\"token\", \"api.key\"]\n[vars]\ntoken = \"x\"\n").expect("valid");
    let names: Vec<_> = config.secrets.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(names, ["token", "api.key"]);
    assert_eq!(config.file.slice(config.secrets[0].span), "\"token\"");
    assert_eq!(
        errors("secrets = \"token\"\n"),
        "error: `secrets` must be an array of strings, not a string\n --> specs/streamspec.toml:1:11\n  |\n1 | secrets = \"token\"\n  |           ^^^^^^^ expected an array of strings\n"
    );
    assert!(errors("secrets = [\"a b\"]\n").contains("error: `a b` cannot be a variable name"),);
}

#[test]
fn an_empty_file_is_a_valid_config() {
    let config = parse(SourceFile::new("streamspec.toml", "")).expect("valid");
    assert_eq!(config.dir, Path::new("."));
    assert!(config.vars.is_empty() && config.services.is_empty());
    assert_eq!(config.defaults, Defaults::default());
}

#[test]
fn inline_service_tables_point_at_the_table() {
    let config = parse_text("services = [{ name = \"a\", command = [\"a\"] }]\n").expect("valid");
    assert_eq!(
        config.file.slice(config.services[0].span),
        "{ name = \"a\", command = [\"a\"] }"
    );
}

#[test]
fn misspelt_section_suggests_the_right_one() {
    assert_eq!(
        errors("[servics]\nx = 1\n"),
        "error: unknown section `servics`\n --> specs/streamspec.toml:1:2\n  |\n1 | [servics]\n  |  ^^^^^^^ not a section of streamspec.toml\n  |\n  = help: did you mean `services`?\n"
    );
    assert!(
        errors("[bananas]\n").contains("help: the sections are `vars`, `defaults`, `services`")
    );
}

#[test]
fn misspelt_service_key_suggests_the_right_one() {
    let text = errors("[[services]]\nname = \"demo\"\ncomand = [\"x\"]\n");
    // Both problems are reported: the misspelt key, and so the missing command.
    assert!(
        text.contains("error: service `demo` has no `command`\n --> specs/streamspec.toml:1:1\n  |\n1 | [[services]]\n  | ^^^^^^^^^^^^ needs a `command`\n"),
        "{text}"
    );
    assert!(
        text.contains("error: unknown service setting `comand`\n --> specs/streamspec.toml:3:1\n  |\n3 | comand = [\"x\"]\n  | ^^^^^^ not a service setting\n  |\n  = help: did you mean `command`?\n"),
        "{text}"
    );
}

#[test]
fn bad_durations_are_reported() {
    assert_eq!(
        errors("[[services]]\nname = \"demo\"\ncommand = [\"x\"]\nstart_timeout = \"20 sec\"\n"),
        "error: `20 sec` is not a duration: write a number and a unit (ms, s, m or h) with no space, like `500ms`, `20s`, `1.5s` or `2m`\n --> specs/streamspec.toml:4:17\n  |\n4 | start_timeout = \"20 sec\"\n  |                 ^^^^^^^^ expected a duration\n"
    );
    let text = errors("[defaults]\ntimeout = \"0s\"\ntimout = \"1s\"\n");
    assert!(
        text.contains("error: `timeout` must be more than zero\n --> specs/streamspec.toml:2:11\n"),
        "{text}"
    );
    assert!(text.contains("error: unknown default `timout`"), "{text}");
    assert!(text.contains("help: did you mean `timeout`?"), "{text}");
    assert!(
        errors("[defaults]\ntimeout = 30\n")
            .contains("error: `timeout` must be a string, not an integer")
    );
}

#[test]
fn readiness_takes_one_probe() {
    assert_eq!(
        errors(
            "[[services]]\nname = \"demo\"\ncommand = [\"x\"]\nready = { http = \"http://a\", tcp = \"a:1\" }\n"
        ),
        "error: `ready` takes `http` or `tcp`, not both\n --> specs/streamspec.toml:4:9\n  |\n4 | ready = { http = \"http://a\", tcp = \"a:1\" }\n  |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ both given here\n"
    );
    assert!(
        errors("[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = {}\n")
            .contains("error: `ready` is empty")
    );
    let text =
        errors("[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { htp = \"http://a\" }\n");
    assert!(
        text.contains("error: unknown readiness probe `htp`"),
        "{text}"
    );
    assert!(text.contains("help: did you mean `http`?"), "{text}");
    let text =
        errors("[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { http = \"https://a\" }\n");
    assert!(
        text.contains("error: the readiness probe speaks plain HTTP, not HTTPS"),
        "{text}"
    );
}

#[test]
fn readiness_takes_the_statuses_that_count_as_ready() {
    let ready = |status: &str| {
        let text = format!(
            "[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = {{ http = \"http://a/\", status = {status} }}\n"
        );
        match parse_text(&text).map(|config| config.services[0].ready.clone()) {
            Ok(Some(Readiness::Http { status, .. })) => status.describe(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(ready("204"), "204");
    assert_eq!(ready("\"4xx\""), "4xx");
    assert_eq!(ready("[200, \"204\", \"3XX\"]"), "200, 204 or 3xx");
    assert_eq!(
        errors(
            "[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { http = \"http://a/\", status = [200, 99, \"2xy\", 1.5] }\n"
        ),
        "error: 99 is not an HTTP status\n --> specs/streamspec.toml:4:46\n  |\n4 | ready = { http = \"http://a/\", status = [200, 99, \"2xy\", 1.5] }\n  |                                              ^^ expected a status\n  |\n  = help: write a status from 100 to 599, such as `200`, or a class, such as `\"2xx\"`\n\n\
         error: \"2xy\" is not an HTTP status\n --> specs/streamspec.toml:4:50\n  |\n4 | ready = { http = \"http://a/\", status = [200, 99, \"2xy\", 1.5] }\n  |                                                  ^^^^^ expected a status\n  |\n  = help: write a status from 100 to 599, such as `200`, or a class, such as `\"2xx\"`\n\n\
         error: `status` must be a status such as 200 or \"2xx\", not a float\n --> specs/streamspec.toml:4:57\n  |\n4 | ready = { http = \"http://a/\", status = [200, 99, \"2xy\", 1.5] }\n  |                                                         ^^^ expected a status\n"
    );
    let text = errors(
        "[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { tcp = \"a:1\", status = 200 }\n",
    );
    assert!(
        text.starts_with("error: `status` goes with `http`: a TCP probe gets no status\n --> specs/streamspec.toml:4:24\n"),
        "{text}"
    );
    let text = errors("[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { status = 200 }\n");
    assert!(
        text.starts_with("error: `ready` has a `status` but no `http` URL to ask\n"),
        "{text}"
    );
    let text = errors(
        "[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { http = \"http://a/\", status = [] }\n",
    );
    assert!(
        text.starts_with("error: `status` is an empty list\n"),
        "{text}"
    );
}

#[test]
fn commands_must_be_non_empty_argument_lists() {
    assert_eq!(
        errors("[[services]]\nname = \"demo\"\ncommand = []\n"),
        "error: service `demo` has an empty `command`\n --> specs/streamspec.toml:3:11\n  |\n3 | command = []\n  |           ^^ expected the program and its arguments\n"
    );
    let text = errors("[[services]]\nname = \"demo\"\ncommand = \"./server --port 3\"\n");
    assert!(
        text.contains("error: `command` must be a list of arguments, not a string"),
        "{text}"
    );
    assert!(
        text.contains("help: streamspec runs the program directly, without a shell: write `command = [\"./server\", \"--port\", \"3\"]`"),
        "{text}"
    );
    assert!(
        errors("[[services]]\nname = \"demo\"\ncommand = [\"\"]\n")
            .contains("the program in `command` is an empty string")
    );
}

#[test]
fn duplicate_service_names_are_reported() {
    assert_eq!(
        errors(
            "[[services]]\nname = \"demo\"\ncommand = [\"a\"]\n[[services]]\nname = \"demo\"\ncommand = [\"b\"]\n"
        ),
        "error: two services are named `demo`\n --> specs/streamspec.toml:5:8\n  |\n5 | name = \"demo\"\n  |        ^^^^^^ used again here\n  |\n  = note: the first `demo` is at specs/streamspec.toml:2:8\n"
    );
}

#[test]
fn duplicate_ports_are_reported_within_and_across_services() {
    assert_eq!(
        errors(
            "[[services]]\nname = \"a\"\nports = [\"p\", \"q\"]\ncommand = [\"a\"]\n[[services]]\nname = \"b\"\nports = [\"p\"]\ncommand = [\"b\"]\n"
        ),
        "error: port `p` is declared twice\n --> specs/streamspec.toml:7:10\n  |\n7 | ports = [\"p\"]\n  |          ^^^ declared again here\n  |\n  = note: the first `p` is at specs/streamspec.toml:3:10; each port needs a name of its own\n"
    );
    assert!(
        errors("[[services]]\nname = \"a\"\nports = [\"p\", \"p\"]\ncommand = [\"a\"]\n")
            .contains("port `p` is declared twice")
    );
}

#[test]
fn ports_may_not_shadow_variables() {
    assert_eq!(
        errors(
            "[vars]\nport = \"1\"\n[[services]]\nname = \"a\"\nports = [\"port\"]\ncommand = [\"a\"]\n"
        ),
        "error: port `port` has the same name as a variable\n --> specs/streamspec.toml:5:10\n  |\n5 | ports = [\"port\"]\n  |          ^^^^^^ also a variable\n  |\n  = note: `port` is set in [vars] at specs/streamspec.toml:2:1; rename one of them\n"
    );
}

#[test]
fn names_must_be_placeholder_names_and_not_reserved() {
    let text = errors(
        "[vars]\nstreamspec = \"x\"\n\"a b\" = \"y\"\n[[services]]\nname = \"a\"\nports = [\"9port\"]\ncommand = [\"a\"]\n",
    );
    assert!(
        text.contains("error: `streamspec` cannot be a variable name"),
        "{text}"
    );
    assert!(
        text.contains("error: `a b` cannot be a variable name"),
        "{text}"
    );
    assert!(
        text.contains("error: `9port` cannot be a port name"),
        "{text}"
    );
}

#[test]
fn placeholders_are_checked_where_they_are_written() {
    let text = errors(
        "[vars]\nbase = \"http://{{host}}:{{demo_prot}}\"\nhost = \"x\"\n[[services]]\nname = \"a\"\nports = [\"demo_port\"]\ncommand = [\"a\", \"{{ nope }}\", \"{{bad name}}\"]\n",
    );
    assert_eq!(
        text,
        "error: unknown variable `host`\n --> specs/streamspec.toml:2:16\n  |\n2 | base = \"http://{{host}}:{{demo_prot}}\"\n  |                ^^^^^^^^ not a variable or port\n  |\n  = help: `host` is set further down in [vars]; a variable can use only those above it\n\
         \n\
         error: unknown variable `demo_prot`\n --> specs/streamspec.toml:2:25\n  |\n2 | base = \"http://{{host}}:{{demo_prot}}\"\n  |                         ^^^^^^^^^^^^^ not a variable or port\n  |\n  = help: did you mean `demo_port`?\n\
         \n\
         error: unknown variable `nope`\n --> specs/streamspec.toml:7:18\n  |\n7 | command = [\"a\", \"{{ nope }}\", \"{{bad name}}\"]\n  |                  ^^^^^^^^^^ not a variable or port\n  |\n  = help: the names known here are `base`, `demo_port`, `host`, `streamspec`\n\
         \n\
         error: `{{bad name}}` is not a placeholder: write `{{name}}`, with a name of letters, digits, `_`, `.` and `-`\n --> specs/streamspec.toml:7:32\n  |\n7 | command = [\"a\", \"{{ nope }}\", \"{{bad name}}\"]\n  |                                ^^^^^^^^^^^^ not a placeholder\n"
    );
    // A service may use a port of a later service: all ports are chosen before any starts.
    parse_text("[[services]]\nname = \"a\"\ncommand = [\"a\", \"{{b_port}}\"]\nenv = { B = \"{{b_port}}\" }\n[[services]]\nname = \"b\"\nports = [\"b_port\"]\ncommand = [\"b\"]\n").expect("valid");
}

#[test]
fn missing_names_and_wrong_types_are_all_reported() {
    let text = errors("[[services]]\nports = [1]\n");
    assert!(text.contains("error: this service has no `name`"), "{text}");
    assert!(
        text.contains("error: this service has no `command`"),
        "{text}"
    );
    assert!(text.contains("error: each item of `ports` must be a string, not an integer\n --> specs/streamspec.toml:2:10"), "{text}");
    assert!(
        errors("[services]\nname = \"a\"\n")
            .contains("`services` must be an array of tables, not a table")
    );
    assert!(errors("vars = 1\n").contains("[vars] must be a table, not an integer"));
}

#[test]
fn syntax_errors_point_into_the_file() {
    assert_eq!(
        errors("[vars\nx = 1\n"),
        "error: invalid TOML: unclosed table, expected `]`\n --> specs/streamspec.toml:1:6\n  |\n1 | [vars\n  |      ^\n"
    );
}

#[test]
fn spans_of_placeholders_survive_only_plain_strings() {
    let file = SourceFile::new("x.toml", "a = 'x{{p}}'\nb = \"\\u0041{{p}}\"\n");
    let plain = ConfigString {
        text: "x{{p}}".into(),
        span: Span::new(4, 12),
    };
    assert_eq!(file.slice(plain.span_of(&file, 1..6)), "{{p}}");
    let escaped = ConfigString {
        text: "A{{p}}".into(),
        span: Span::new(17, 30),
    };
    assert_eq!(escaped.span_of(&file, 1..6), escaped.span);
}

#[test]
fn finds_the_nearest_config_walking_up() {
    let root = std::env::temp_dir().join(format!("streamspec-find-{}", std::process::id()));
    let nested = root.join("specs/deep/er");
    std::fs::create_dir_all(&nested).expect("temp dir");
    std::fs::write(root.join(CONFIG_FILE_NAME), "").expect("write");
    std::fs::write(nested.join("a.stream"), "").expect("write");
    assert_eq!(find(&nested), Some(root.join(CONFIG_FILE_NAME)));
    assert_eq!(
        find(&nested.join("a.stream")),
        Some(root.join(CONFIG_FILE_NAME))
    );
    std::fs::write(root.join("specs").join(CONFIG_FILE_NAME), "").expect("write");
    assert_eq!(
        find(&nested),
        Some(root.join("specs").join(CONFIG_FILE_NAME))
    );
    assert_eq!(
        find(&nested.join("../..")),
        Some(
            root.join("specs")
                .join(CONFIG_FILE_NAME)
                .canonicalize()
                .expect("exists")
        )
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn load_reports_an_unreadable_file() {
    let errors = load(Path::new("/nonexistent/streamspec.toml")).unwrap_err();
    assert!(
        errors[0]
            .message
            .starts_with("cannot read `/nonexistent/streamspec.toml`: ")
    );
}

#[test]
fn update_redactions_are_checked_where_they_are_written() {
    let config =
        parse_text("[update]\nredact = { \"$.seq\" = \"integer\", \"id:\" = '/^\\d+$/' }\n")
            .expect("valid");
    assert!(!config.update.redactions.is_empty());
    assert_eq!(
        errors("[update.redact]\n\"seq\" = \"integer\"\n\"$.a\" = \"strin\"\n\"$.b\" = 1\n"),
        "error: `seq` is not a place to redact: write a JSONPath (`$.id`) or an SSE field (`id:`, `event:`, `data:`)\n --> specs/streamspec.toml:2:1\n  |\n2 | \"seq\" = \"integer\"\n  | ^^^^^ not a JSONPath or an SSE field\n\
         \n\
         error: `strin` is not a matcher for a JSON value: write a type (`string`, `number`, `integer`, `bool`, `object`, `array`, `bytes`), `_` or a `/regex/`\n --> specs/streamspec.toml:3:9\n  |\n3 | \"$.a\" = \"strin\"\n  |         ^^^^^^^ not a matcher\n\
         \n\
         error: the redaction of `$.b` must be a string, not an integer\n --> specs/streamspec.toml:4:9\n  |\n4 | \"$.b\" = 1\n  |         ^ expected a string\n"
    );
    assert!(
        errors("[update]\nredcat = {}\n").contains("help: did you mean `redact`?"),
        "{}",
        errors("[update]\nredcat = {}\n")
    );
}

/// Each setting of a service, and each key of `ready`, is in the README's `streamspec.toml`
/// section, so that none is found only through an error's help line.
#[test]
fn every_service_setting_is_in_the_readme() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
    let section = readme
        .split("### `streamspec.toml`")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("the README has a streamspec.toml section");
    let example = section
        .split("```toml")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has an example");
    for key in super::services::SERVICE_KEYS {
        assert!(
            example.contains(&format!("\n{key} = ")),
            "the README's example has no `{key}`"
        );
    }
    for key in super::readiness::READY_KEYS {
        assert!(
            section.contains(&format!("{key} = ")),
            "the README does not say what `ready.{key}` is"
        );
    }
}
