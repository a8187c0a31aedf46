//! The settings of a load run, as `streamspec load`'s options and `streamspec.toml`'s `[load]`
//! table give them (an option wins over the table, key by key; thresholds of both apply), the
//! parsers both use, and the [`Profile`] they make.

use std::time::Duration;

use super::profile::{MAX_USERS, Model, Profile, Stage, Think};
use crate::duration::parse_duration;

/// Settings as given, each optional: from the command line or the config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadSettings {
    pub users: Option<u64>,
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
    pub stages: Vec<Stage>,
    pub think: Option<Think>,
    pub max_users: Option<u64>,
    pub max_new_users: Option<f64>,
    pub graceful_stop: Option<Duration>,
}

/// A setting of the profile, as an option of `streamspec load` and a key of `[load]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Users,
    Rate,
    Duration,
    Iterations,
    Stages,
    Think,
    MaxUsers,
    MaxNewUsers,
}

impl Setting {
    pub fn option(self) -> &'static str {
        match self {
            Setting::Users => "--users",
            Setting::Rate => "--rate",
            Setting::Duration => "--duration",
            Setting::Iterations => "--iterations",
            Setting::Stages => "--stage",
            Setting::Think => "--think",
            Setting::MaxUsers => "--max-users",
            Setting::MaxNewUsers => "--max-new-users",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Setting::Users => "users",
            Setting::Rate => "rate",
            Setting::Duration => "duration",
            Setting::Iterations => "iterations",
            Setting::Stages => "stages",
            Setting::Think => "think",
            Setting::MaxUsers => "max_users",
            Setting::MaxNewUsers => "max_new_users",
        }
    }

    /// The setting of `[load]` named `key`.
    pub fn of_key(key: &str) -> Option<Setting> {
        CONFLICTS
            .iter()
            .flat_map(|(a, b, _)| [*a, *b])
            .find(|setting| setting.key() == key)
    }

    fn is_set(self, settings: &LoadSettings) -> bool {
        match self {
            Setting::Users => settings.users.is_some(),
            Setting::Rate => settings.rate.is_some(),
            Setting::Duration => settings.duration.is_some(),
            Setting::Iterations => settings.iterations.is_some(),
            Setting::Stages => !settings.stages.is_empty(),
            Setting::Think => settings.think.is_some(),
            Setting::MaxUsers => settings.max_users.is_some(),
            Setting::MaxNewUsers => settings.max_new_users.is_some(),
        }
    }
}

const CLOSED_OR_OPEN: &str = "a load is a closed model (users repeating their test) or an open one (iterations started per second), not both";
const THINK_IS_CLOSED: &str = "a pause between a user's iterations is for the closed model (users); in the open model each iteration starts when it is due";
const NEW_USERS_ARE_CLOSED: &str = "how fast users start is for the closed model (users); in the open model the rate says how fast iterations start";
const MAX_USERS_IS_OPEN: &str = "the most iterations at once caps the open model (rate); in the closed model the users are the iterations at once";
const STAGES_LAST: &str =
    "both say how long the load lasts: the stages' durations add up to the run's";
const STAGES_END: &str = "a staged load ends with its last stage";

/// Settings that do not go together, and why. (`duration` and `iterations` do: the load ends
/// at whichever comes first.)
pub const CONFLICTS: [(Setting, Setting, &str); 6] = [
    (Setting::Users, Setting::Rate, CLOSED_OR_OPEN),
    (Setting::Duration, Setting::Stages, STAGES_LAST),
    (Setting::Stages, Setting::Iterations, STAGES_END),
    (Setting::Rate, Setting::Think, THINK_IS_CLOSED),
    (Setting::Rate, Setting::MaxNewUsers, NEW_USERS_ARE_CLOSED),
    (Setting::Users, Setting::MaxUsers, MAX_USERS_IS_OPEN),
];

/// The config's settings under the options `given`: without the keys the options replace. The
/// options' model replaces the config's model with its own keys (`think` and `max_new_users`
/// of the closed model, `max_users` of the open one); the options' length replaces the
/// config's (`duration`, `stages`, `iterations`); and the options' stages replace the
/// config's profile: they start from the options' level, else from 0, in the config's model.
pub fn config_under(given: &LoadSettings, config: &LoadSettings) -> LoadSettings {
    let mut weaker = config.clone();
    if given.rate.is_some() {
        weaker.users = None;
        weaker.think = None;
        weaker.max_new_users = None;
    }
    if given.users.is_some() {
        weaker.rate = None;
        weaker.max_users = None;
    }
    if given.duration.is_some() || !given.stages.is_empty() || given.iterations.is_some() {
        weaker.duration = None;
        weaker.stages.clear();
        weaker.iterations = None;
    }
    if !given.stages.is_empty() {
        // The config's model stays; its level is not where the stages start.
        weaker.users = weaker.users.map(|_| 0);
        weaker.rate = weaker.rate.map(|_| 0.0);
    }
    weaker
}

/// Why the options `given` and the config's settings under them (see [`config_under`]) do not
/// go together, naming each as it was given; the model's own contradictions (`--users` with
/// `--rate`, `--duration` with `--stage`) are [`LoadSettings::profile`]'s to say.
pub fn combination_error(given: &LoadSettings, config: &LoadSettings) -> Option<String> {
    let name = |setting: Setting| {
        if setting.is_set(given) {
            setting.option().to_string()
        } else {
            format!("`{}` under [load]", setting.key())
        }
    };
    let set = |setting: Setting| setting.is_set(given) || setting.is_set(config);
    for (a, b, why) in &CONFLICTS[2..5] {
        if set(*a) && set(*b) {
            return Some(format!(
                "{} and {} cannot go together: {why}",
                name(*a),
                name(*b)
            ));
        }
    }
    if set(Setting::MaxUsers) && !set(Setting::Rate) {
        return Some(format!(
            "{} caps the open model (rate), and this load is closed (users): its users are the most iterations at once",
            name(Setting::MaxUsers)
        ));
    }
    None
}

/// When `--graceful-stop` is not given: as k6.
pub const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);

/// The open model's cap on iterations at once when `--max-users` is not given.
pub const DEFAULT_MAX_USERS: u64 = 10_000;

impl LoadSettings {
    /// `self` with what `weaker` sets and `self` does not.
    pub fn or(self, weaker: &LoadSettings) -> LoadSettings {
        LoadSettings {
            users: self.users.or(weaker.users),
            rate: self.rate.or(weaker.rate),
            duration: self.duration.or(weaker.duration),
            iterations: self.iterations.or(weaker.iterations),
            stages: if self.stages.is_empty() {
                weaker.stages.clone()
            } else {
                self.stages
            },
            think: self.think.or(weaker.think),
            max_users: self.max_users.or(weaker.max_users),
            max_new_users: self.max_new_users.or(weaker.max_new_users),
            graceful_stop: self.graceful_stop.or(weaker.graceful_stop),
        }
    }

    /// The profile, or what is missing or contradictory.
    pub fn profile(&self) -> Result<Profile, String> {
        if self.users.is_some() && self.rate.is_some() {
            return Err(
                "give --users (a closed model: users repeating their test) or --rate (an open model: iterations started per second), not both"
                    .to_string(),
            );
        }
        let model = if self.rate.is_some() {
            Model::Open
        } else {
            Model::Closed
        };
        if self.stages.is_empty() && self.duration.is_none() && self.iterations.is_none() {
            return Err(
                "say how long the load lasts: --duration, --iterations, or --stage".to_string(),
            );
        }
        if !self.stages.is_empty() && self.duration.is_some() {
            return Err(
                "--duration and --stage both say how long the load lasts: the stages' durations add up to the run's".to_string(),
            );
        }
        let start = match model {
            Model::Closed => self.users.map(|u| u as f64),
            Model::Open => self.rate,
        };
        let start = match (start, self.stages.is_empty()) {
            (Some(start), _) => start,
            // Stages alone start from nothing and ramp.
            (None, false) => 0.0,
            (None, true) => 1.0,
        };
        let stages = match self.duration {
            Some(duration) => vec![Stage {
                duration,
                target: start,
            }],
            None => self.stages.clone(),
        };
        let profile = Profile {
            model,
            start,
            stages,
            iterations: self.iterations,
            think: self.think.unwrap_or_default(),
            max_users: self.max_users.unwrap_or(DEFAULT_MAX_USERS),
            max_new_users: self.max_new_users,
            graceful_stop: self.graceful_stop.unwrap_or(DEFAULT_GRACEFUL_STOP),
        };
        if model == Model::Closed && profile.peak() > MAX_USERS as f64 {
            return Err(format!(
                "at most {} users: the load asks for {}",
                super::summary::count(MAX_USERS),
                profile.peak()
            ));
        }
        if model == Model::Closed && profile.peak() < 1.0 {
            return Err("the load never has a user: give --users or a stage above 0".to_string());
        }
        if model == Model::Open && profile.peak() <= 0.0 {
            return Err("the rate is never above 0/s".to_string());
        }
        if profile.max_users == 0 || profile.max_users > MAX_USERS {
            return Err(format!(
                "--max-users goes from 1 to {}",
                super::summary::count(MAX_USERS)
            ));
        }
        Ok(profile)
    }
}

/// `50`, at least 1.
pub fn parse_users(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) if n > MAX_USERS => Err(format!(
            "at most {} users",
            super::summary::count(MAX_USERS)
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a number of users")),
    }
}

/// `50`, `50/s`, `3000/m` (per minute): iterations started per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, per) = if let Some(n) = text.strip_suffix("/s") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("/m") {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix("/h") {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value / per),
        Ok(_) => Err("must be more than 0".to_string()),
        Err(_) => Err(format!("`{text}` is not a rate such as `50/s` or `300/m`")),
    }
}

/// `30s:100` (ramp to 100 over 30 s), or several joined by commas.
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, String> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let (duration, target) = part.split_once(':').ok_or_else(|| {
                format!("`{part}` is not a stage: write DURATION:TARGET, such as `30s:100`")
            })?;
            let duration = parse_duration(duration.trim())?;
            let target = target.trim();
            let target = match target.parse::<f64>() {
                Ok(value) if value.is_finite() && value >= 0.0 => value,
                _ => parse_rate(target).map_err(|_| {
                    format!("`{target}` is not a number of users or a rate, in stage `{part}`")
                })?,
            };
            Ok(Stage { duration, target })
        })
        .collect()
}

/// `1s`, or `500ms..2s` for a pause drawn uniformly in the range.
pub fn parse_think(text: &str) -> Result<Think, String> {
    match text.split_once("..") {
        Some((min, max)) => {
            let (min, max) = (parse_duration(min.trim())?, parse_duration(max.trim())?);
            if max < min {
                return Err(format!("`{text}`: the range ends before it starts"));
            }
            Ok(Think { min, max })
        }
        None => {
            let pause = parse_duration(text.trim())?;
            Ok(Think {
                min: pause,
                max: pause,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_a_duration_make_a_steady_closed_load() {
        let settings = LoadSettings {
            users: Some(50),
            duration: Some(Duration::from_secs(20)),
            ..LoadSettings::default()
        };
        let profile = settings.profile().expect("valid");
        assert_eq!(profile.model, Model::Closed);
        assert_eq!(profile.level_at(Duration::from_secs(10)), 50.0);
        assert_eq!(profile.duration(), Duration::from_secs(20));
    }

    #[test]
    fn stages_ramp_from_nothing_unless_told() {
        let stages = parse_stages("10s:100, 5s:100, 1s:0").expect("valid");
        let settings = LoadSettings {
            stages,
            ..LoadSettings::default()
        };
        let profile = settings.profile().expect("valid");
        assert_eq!(profile.start, 0.0);
        assert_eq!(profile.level_at(Duration::from_secs(5)), 50.0);
        assert_eq!(profile.duration(), Duration::from_secs(16));
    }

    #[test]
    fn contradictions_and_gaps_are_named() {
        let both = LoadSettings {
            users: Some(1),
            rate: Some(1.0),
            duration: Some(Duration::from_secs(1)),
            ..LoadSettings::default()
        };
        assert!(both.profile().expect_err("both").contains("not both"));
        let endless = LoadSettings {
            users: Some(1),
            ..LoadSettings::default()
        };
        assert!(endless.profile().expect_err("endless").contains("how long"));
    }

    #[test]
    fn options_win_over_the_config_key_by_key() {
        let config = LoadSettings {
            users: Some(10),
            duration: Some(Duration::from_secs(60)),
            ..LoadSettings::default()
        };
        let cli = LoadSettings {
            users: Some(3),
            ..LoadSettings::default()
        };
        let merged = cli.or(&config);
        assert_eq!(merged.users, Some(3));
        assert_eq!(merged.duration, Some(Duration::from_secs(60)));
    }

    #[test]
    fn rates_and_pauses_read_their_units() {
        assert_eq!(parse_rate("50/s"), Ok(50.0));
        assert_eq!(parse_rate("120/m"), Ok(2.0));
        assert_eq!(parse_rate("7"), Ok(7.0));
        assert!(parse_rate("0/s").is_err());
        let think = parse_think("500ms..2s").expect("a range");
        assert_eq!(
            (think.min, think.max),
            (Duration::from_millis(500), Duration::from_secs(2))
        );
        assert!(parse_think("2s..1s").is_err());
        assert!(parse_stages("30s").is_err());
    }
}
