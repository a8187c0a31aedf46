//! The load profile: how many virtual users (closed model) or how many new iterations per second
//! (open model) the run wants at each moment, from `--users`/`--rate`, `--duration` and
//! `--stage`, and which users or arrivals are one instance's share (`--instance K/N`).
//!
//! The schedule is a pure function of the time since the start, so that N instances started at
//! the same wall-clock time (`--start-at`) run exactly the N parts of one schedule: user `u`
//! (from 0) belongs to instance `u mod N`, arrival `k` (from 0) to instance `k mod N`.

use std::time::Duration;

/// How new work enters the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// A number of users, each running its test again as soon as (and after its think time)
    /// the last iteration ended.
    Closed,
    /// Iterations started at a rate, whatever the response times: a slow server gets more
    /// concurrent users, not fewer requests.
    Open,
}

/// A linear move from the level the previous stage ended at to `target` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stage {
    #[serde(with = "crate::load::json::millis")]
    pub duration: Duration,
    pub target: f64,
}

/// `--instance K/N`: the K-th (from 1) of N equal parts of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    pub index: u64,
    pub count: u64,
}

impl Instance {
    pub const WHOLE: Instance = Instance { index: 1, count: 1 };

    /// Whether user or arrival number `n` (from 0) is this instance's.
    pub fn owns(&self, n: u64) -> bool {
        n % self.count == self.index - 1
    }

    /// How many of the numbers `0..total` are this instance's.
    pub fn share_of(&self, total: u64) -> u64 {
        let first = self.index - 1;
        if total <= first {
            0
        } else {
            (total - first).div_ceil(self.count)
        }
    }

    /// How many of the numbers `0..total` are this instance's when they are dealt to the
    /// instances in blocks of `block` (users and arrivals: one block holds one per test).
    pub fn share_in_blocks(&self, total: u64, block: u64) -> u64 {
        let block = block.max(1);
        let (whole, rest) = (total / block, total % block);
        let last = if self.owns(whole) { rest } else { 0 };
        self.share_of(whole) * block + last
    }

    /// The `j`-th (from 0) number this instance owns.
    pub fn nth(&self, j: u64) -> u64 {
        j * self.count + self.index - 1
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Think time between a user's iterations: fixed, or uniform in a range.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Think {
    #[serde(with = "crate::load::json::millis")]
    pub min: Duration,
    #[serde(with = "crate::load::json::millis")]
    pub max: Duration,
}

impl Think {
    /// One pause, drawn afresh each time.
    pub fn draw(&self) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let span = (self.max - self.min).as_micros() as u64;
        self.min + Duration::from_micros(fastrand::u64(0..=span))
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub model: Model,
    /// The level at the start: users, or iterations per second.
    pub start: f64,
    /// Each moves the level linearly; a steady load is one stage whose target is its start.
    pub stages: Vec<Stage>,
    /// Iterations in all (across every instance), when the run ends after a number of them.
    pub iterations: Option<u64>,
    pub think: Think,
    /// Open model: the most iterations running at once (an arrival beyond it is dropped and
    /// counted). Closed model: unused.
    pub max_users: u64,
    /// Closed model: users started per second at most, across every instance (a ramp's
    /// connection rate). `None`: as fast as the stages ask.
    pub max_new_users: Option<f64>,
    /// How long iterations still running when the schedule ends may take to finish.
    #[serde(with = "crate::load::json::millis")]
    pub graceful_stop: Duration,
}

/// Iterations-only runs end at the latest after this long (as k6's `maxDuration`).
pub const ITERATIONS_MAX_DURATION: Duration = Duration::from_secs(10 * 60);

/// The most users, or iterations at once in the open model, a run may ask for.
pub const MAX_USERS: u64 = 1_000_000;

impl Profile {
    /// How long the schedule lasts.
    pub fn duration(&self) -> Duration {
        if self.stages.is_empty() {
            return ITERATIONS_MAX_DURATION;
        }
        self.stages.iter().map(|stage| stage.duration).sum()
    }

    /// The level (users, or iterations per second) at `t` since the start.
    pub fn level_at(&self, t: Duration) -> f64 {
        let mut from = self.start;
        let mut stage_start = Duration::ZERO;
        for stage in &self.stages {
            let stage_end = stage_start + stage.duration;
            if t < stage_end {
                let progress = if stage.duration.is_zero() {
                    1.0
                } else {
                    (t - stage_start).as_secs_f64() / stage.duration.as_secs_f64()
                };
                return from + (stage.target - from) * progress;
            }
            from = stage.target;
            stage_start = stage_end;
        }
        if self.stages.is_empty() {
            self.start
        } else {
            from
        }
    }

    /// The highest level the schedule reaches.
    pub fn peak(&self) -> f64 {
        self.stages
            .iter()
            .map(|stage| stage.target)
            .fold(self.start, f64::max)
    }

    /// Open model with stages (a `--duration` is one): how many arrivals the schedule makes in
    /// all, across every instance; `None` when it runs to a number of iterations instead.
    pub fn arrivals(&self) -> Option<u64> {
        if self.stages.is_empty() {
            return None;
        }
        let mut from = self.start;
        let mut total = 0.0;
        for stage in &self.stages {
            total += (from + stage.target) / 2.0 * stage.duration.as_secs_f64();
            from = stage.target;
        }
        // Arrival k comes where the rate's integral reaches k, before the schedule's end.
        Some(total.max(0.0).ceil() as u64)
    }

    /// Open model: when arrival `k` (from 0) is due, since the start; `None` past the schedule.
    /// Arrivals are where the integral of the rate crosses each whole number, so arrival 0 is
    /// at the start and a steady rate `r` spaces them `1/r` apart.
    pub fn arrival_time(&self, k: u64) -> Option<Duration> {
        let mut remaining = k as f64;
        let mut from = self.start;
        let mut stage_start = 0.0;
        let stages: Vec<Stage> = if self.stages.is_empty() {
            vec![Stage {
                duration: ITERATIONS_MAX_DURATION,
                target: self.start,
            }]
        } else {
            self.stages.clone()
        };
        for stage in &stages {
            let length = stage.duration.as_secs_f64();
            let (r0, r1) = (from, stage.target);
            let in_stage = (r0 + r1) / 2.0 * length;
            // An arrival exactly at a stage's end is the next stage's first.
            if remaining < in_stage {
                let tau = if (r1 - r0).abs() < 1e-12 {
                    remaining / r0
                } else {
                    let slope = (r1 - r0) / length;
                    (-r0 + (r0 * r0 + 2.0 * slope * remaining).max(0.0).sqrt()) / slope
                };
                return Some(Duration::from_secs_f64(
                    stage_start + tau.clamp(0.0, length),
                ));
            }
            remaining -= in_stage;
            from = stage.target;
            stage_start += length;
        }
        None
    }
}

/// An open model's level as people give it: `50/s`, `0.5/s`; a rate below 1/s that is a whole
/// number per minute or per hour in that unit (`1/m`, `2/h`, as `--rate` reads them), any
/// other to two significant digits (`0.017/s`). One decimal per second made `--rate 1/m`
/// read `0/s`.
pub fn rate_text(per_second: f64) -> String {
    // The summary's rule for every rate, measured ones too.
    super::summary::rate(per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(model: Model, start: f64, stages: &[(u64, f64)]) -> Profile {
        Profile {
            model,
            start,
            stages: stages
                .iter()
                .map(|&(secs, target)| Stage {
                    duration: Duration::from_secs(secs),
                    target,
                })
                .collect(),
            iterations: None,
            think: Think::default(),
            max_users: 100,
            max_new_users: None,
            graceful_stop: Duration::from_secs(30),
        }
    }

    #[test]
    fn levels_move_linearly_through_the_stages() {
        let p = profile(Model::Closed, 10.0, &[(10, 110.0), (5, 110.0), (5, 10.0)]);
        assert_eq!(p.level_at(Duration::ZERO), 10.0);
        assert_eq!(p.level_at(Duration::from_secs(5)), 60.0);
        assert_eq!(p.level_at(Duration::from_secs(12)), 110.0);
        assert_eq!(p.level_at(Duration::from_millis(17_500)), 60.0);
        assert_eq!(p.level_at(Duration::from_secs(30)), 10.0);
        assert_eq!(p.duration(), Duration::from_secs(20));
        assert_eq!(p.peak(), 110.0);
    }

    #[test]
    fn a_steady_rate_spaces_arrivals_evenly() {
        let p = profile(Model::Open, 4.0, &[(10, 4.0)]);
        assert_eq!(p.arrival_time(0), Some(Duration::ZERO));
        assert_eq!(p.arrival_time(1), Some(Duration::from_millis(250)));
        assert_eq!(p.arrival_time(39), Some(Duration::from_millis(9750)));
        assert_eq!(p.arrival_time(40), None);
    }

    #[test]
    fn a_ramp_of_rate_gives_its_integral_in_arrivals() {
        // 0 -> 10/s over 10 s: 50 arrivals, arrival k at sqrt(2k) seconds.
        let p = profile(Model::Open, 0.0, &[(10, 10.0)]);
        for k in [1u64, 8, 18, 32, 49] {
            let t = p.arrival_time(k).expect("within the ramp").as_secs_f64();
            assert!((t - (2.0 * k as f64).sqrt()).abs() < 1e-6, "{k}: {t}");
        }
        assert_eq!(p.arrival_time(50), None);
        // A rate of zero for a while, then 2/s: the first arrival comes when the rate does.
        let p = profile(Model::Open, 0.0, &[(5, 0.0), (5, 2.0)]);
        let first = p.arrival_time(0).expect("some arrival").as_secs_f64();
        assert!((first - 5.0).abs() < 1e-9, "{first}");
    }

    #[test]
    fn the_arrivals_of_a_schedule_are_those_it_gives_times_to() {
        let count = |p: &Profile| {
            (0..10_000u64)
                .take_while(|&k| p.arrival_time(k).is_some())
                .count()
        };
        for p in [
            profile(Model::Open, 4.0, &[(10, 4.0)]),
            profile(Model::Open, 0.0, &[(10, 10.0)]),
            profile(Model::Open, 1.0, &[(3, 2.5), (2, 0.5)]),
            profile(Model::Open, 0.5, &[(3, 0.5)]),
        ] {
            assert_eq!(p.arrivals(), Some(count(&p) as u64), "{:?}", p.stages);
        }
        assert_eq!(profile(Model::Open, 4.0, &[]).arrivals(), None);
    }

    #[test]
    fn a_rate_below_one_a_second_reads_in_the_unit_it_is_whole_in() {
        let shown =
            |text: &str| rate_text(crate::load::settings::parse_rate(text).expect("a valid rate"));
        assert_eq!(shown("1/m"), "1/m");
        assert_eq!(shown("2/m"), "2/m");
        assert_eq!(shown("90/h"), "90/h");
        assert_eq!(shown("1/h"), "1/h");
        assert_eq!(shown("6/m"), "0.1/s");
        assert_eq!(shown("0.5/s"), "0.5/s");
        assert_eq!(shown("0.25/s"), "15/m");
        assert_eq!(shown("0.0123/s"), "0.012/s");
        assert_eq!(shown("0.5/m"), "30/h");
        assert_eq!(shown("2/s"), "2/s");
        assert_eq!(shown("2.5/s"), "2.5/s");
        assert_eq!(shown("300/m"), "5/s");
        assert_eq!(shown("1500/s"), "1,500/s");
        assert_eq!(rate_text(0.0), "0/s");
    }

    #[test]
    fn instances_split_users_and_arrivals_without_overlap() {
        let parts: Vec<Instance> = (1..=4).map(|index| Instance { index, count: 4 }).collect();
        for n in 0..100 {
            assert_eq!(parts.iter().filter(|p| p.owns(n)).count(), 1);
        }
        for total in 0..20 {
            let shares: u64 = parts.iter().map(|p| p.share_of(total)).sum();
            assert_eq!(shares, total);
        }
        assert_eq!(parts[2].nth(0), 2);
        assert_eq!(parts[2].nth(3), 14);
        assert!(parts[2].owns(14));
    }
}
