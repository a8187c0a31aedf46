//! Runs the profile: in the closed model, users that each run their test again and again while
//! the schedule wants them; in the open model, iterations started at the schedule's rate. Every
//! iteration is a real run of the test ([`run_iteration`]), recorded when it ends. Every task is
//! owned by a `JoinSet` here: when the schedule ends, iterations still running get the
//! graceful stop to finish, then are cut off — each recording what its streams had measured,
//! counted as cut off; a stop (Ctrl-C, an aborting threshold) cuts them off at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::profile::{Instance, Model, Profile};
use super::recorder::Recorder;
use crate::ast::Spec;
use crate::interp::vars::Identity;
use crate::interp::{Iteration, RunSettings, run_iteration};
use crate::outcome::TestOutcome;

/// How often the closed model looks at the schedule to start or retire users.
const TICK: Duration = Duration::from_millis(20);

/// How long iterations cut off get to record what they measured before they are aborted.
const CUT_OFF_WAIT: Duration = Duration::from_secs(5);

/// One test of the load.
pub struct LoadTest {
    pub spec: Arc<Spec>,
    pub test: usize,
    /// `file: name`.
    pub label: String,
}

/// What every user and iteration shares.
pub struct LoadContext {
    pub settings: Arc<RunSettings>,
    pub tests: Vec<LoadTest>,
    pub recorder: Arc<Mutex<Recorder>>,
    pub started: Instant,
    /// Users (closed) or iterations (open) running now.
    pub active: AtomicU64,
    /// The most of [`Self::active`] since the series' last second closed: what the second
    /// reports, since the users stop at the schedule's end, before its last second closes.
    pub active_peak: AtomicU64,
    pub instance: Instance,
    /// Cancelled when the iterations still running are cut off (past the graceful stop, or at
    /// a stop).
    pub cut_off: CancellationToken,
}

impl LoadContext {
    /// Sets how many run now, and keeps the most of the second.
    fn set_active(&self, running: u64) {
        self.active.store(running, Ordering::Relaxed);
        self.active_peak.fetch_max(running, Ordering::Relaxed);
    }

    /// The most that ran since the last call (or the start), and a new second from those
    /// running now.
    pub fn take_active_peak(&self) -> u64 {
        let now = self.active.load(Ordering::Relaxed);
        self.active_peak.swap(now, Ordering::Relaxed).max(now)
    }

    /// The test user (closed) or arrival (open) number `n` runs: spread evenly.
    fn test_of(&self, n: u64) -> usize {
        (n % self.block()) as usize
    }

    /// Users and arrivals go to instances in blocks of one per test: every instance runs every
    /// test (given as many users as tests), and number `n` runs test `n mod T` however many
    /// instances share the load.
    fn block(&self) -> u64 {
        self.tests.len().max(1) as u64
    }

    /// The user or arrival number of this instance's `j`-th (from 0).
    fn owned(&self, j: u64) -> u64 {
        let block = self.block();
        self.instance.nth(j / block) * block + j % block
    }

    /// How many of the numbers `0..total` are this instance's.
    fn owned_count(&self, total: u64) -> u64 {
        self.instance.share_in_blocks(total, self.block())
    }

    /// Runs one iteration and records it. `due`: when the open model wanted it to start.
    /// Runs one iteration and records it; true when it got no connection (refused, or no file
    /// descriptor left on the load generator's side).
    async fn iterate(&self, test: usize, identity: Identity, due: Option<Instant>) -> bool {
        let Some(load_test) = self.tests.get(test) else {
            return false;
        };
        let started = Instant::now();
        let spec = &load_test.spec;
        let Some(definition) = spec.tests.get(load_test.test) else {
            return false;
        };
        let start_delay = due.map(|due| started.saturating_duration_since(due));
        // The first stream the iteration opens counts from when it was due.
        let run = super::live_figures::with_start_delay(
            start_delay,
            run_iteration(
                &self.settings,
                spec,
                definition,
                identity,
                self.cut_off.cancelled(),
            ),
        );
        let iteration = match std::panic::AssertUnwindSafe(run).catch_unwind().await {
            Ok(iteration) => iteration,
            Err(panic) => Iteration {
                outcome: TestOutcome::panicked(
                    Arc::clone(&spec.file),
                    definition.name.value.clone(),
                    definition.name.span,
                    panic.as_ref(),
                ),
                cut_off: false,
            },
        };
        let at = self.started.elapsed();
        if let Ok(mut recorder) = self.recorder.lock() {
            if iteration.cut_off {
                recorder.record_cut_off(test, &iteration.outcome, start_delay);
            } else {
                recorder.record(test, &iteration.outcome, at, start_delay);
            }
        }
        iteration.outcome.failures.iter().any(|failure| {
            matches!(
                super::metrics::ErrorClass::of(failure),
                Some(super::metrics::ErrorClass::Refused | super::metrics::ErrorClass::Files)
            )
        })
    }
}

/// How long a closed-model user waits after an iteration that got no connection before its
/// next: without it, each user retried a service that was down (or a file descriptor the load
/// generator had none of) as fast as the CPU allowed, 7,000 times a second, and the load
/// generator's saturation skewed everything it measured.
const NO_CONNECTION_PAUSE: Duration = Duration::from_millis(100);

/// Runs `profile` to its end, or until `stop` is cancelled.
pub async fn drive(ctx: Arc<LoadContext>, profile: Profile, stop: CancellationToken) {
    match profile.model {
        Model::Closed => closed(ctx, &profile, stop).await,
        Model::Open => open(ctx, &profile, stop).await,
    }
}

/// The iterations this instance runs, when the run has a number of them.
fn iteration_share(profile: &Profile, instance: Instance) -> Option<u64> {
    profile.iterations.map(|total| instance.share_of(total))
}

async fn closed(ctx: Arc<LoadContext>, profile: &Profile, stop: CancellationToken) {
    let instance = ctx.instance;
    let end = ctx.started + profile.duration();
    let claimed = Arc::new(AtomicU64::new(0));
    let share = iteration_share(profile, instance);
    // How many of this instance's users should be running; each user `j` runs while j < it.
    let (level, _) = watch::channel(0u64);
    let mut users: JoinSet<u64> = JoinSet::new();
    // Each running user and the test it runs.
    let mut running: BTreeMap<u64, usize> = BTreeMap::new();
    let mut stopped = StoppedUsers::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // `max_new_users`: this instance's share of the rate.
    let mut budget = profile
        .max_new_users
        .map(|rate| StartBudget::new(rate / instance.count as f64));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(Ok(j)) = users.join_next(), if !users.is_empty() => {
                running.remove(&j);
                stopped.stopped(j);
                ctx.set_active(running.len() as u64);
                continue;
            }
            () = stop.cancelled() => break,
        }
        let now = Instant::now();
        let done = share.is_some_and(|share| claimed.load(Ordering::Relaxed) >= share);
        if now >= end || done {
            break;
        }
        let t = now - ctx.started;
        let global = profile.level_at(t).floor().max(0.0) as u64;
        let mut target = ctx.owned_count(global);
        if let Some(budget) = budget.as_mut() {
            let room = budget.room_at(t);
            if stopped.count_below(target) > room {
                target = target.min(running.len() as u64 + room);
            }
        }
        level.send_if_modified(|current| {
            let changed = *current != target;
            *current = target;
            changed
        });
        for j in stopped.take_below(target) {
            let vu = ctx.owned(j);
            running.insert(j, ctx.test_of(vu));
            if let Some(budget) = budget.as_mut() {
                budget.spend();
            }
            users.spawn(user(
                Arc::clone(&ctx),
                j,
                vu,
                level.subscribe(),
                Arc::clone(&claimed),
                share,
                profile.think,
                stop.clone(),
            ));
        }
        ctx.set_active(running.len() as u64);
    }
    // No user starts another iteration; those running get the graceful stop to finish.
    level.send_replace(0);
    finish(&ctx, &mut users, &mut running, profile.graceful_stop, &stop).await;
}

/// The closed model's users that are not running: each user `j` below `started` has run and
/// is either running or here. A tick asks for the users below the schedule's level that are
/// not running: the stopped ones below it, and those never started. Kept so that a tick costs
/// the users it starts, not the level: looking through all 10,000 users every 20 ms took a
/// tenth of a second of a 10,000-user load's CPU, most of it while users were being started.
#[derive(Debug, Default)]
struct StoppedUsers {
    /// Every user below it has been started.
    started: u64,
    /// Users below `started` that are not running now.
    stopped: BTreeSet<u64>,
}

impl StoppedUsers {
    /// User `j` (started before) is no longer running.
    fn stopped(&mut self, j: u64) {
        if j < self.started {
            self.stopped.insert(j);
        }
    }

    /// How many users below `level` are not running.
    fn count_below(&self, level: u64) -> u64 {
        self.stopped.range(..level).count() as u64 + level.saturating_sub(self.started)
    }

    /// The users below `level` that are not running, smallest first, counted as running from
    /// now on.
    fn take_below(&mut self, level: u64) -> impl Iterator<Item = u64> + use<> {
        let restarted: Vec<u64> = self.stopped.range(..level).copied().collect();
        for j in &restarted {
            self.stopped.remove(j);
        }
        let new = self.started..level.max(self.started);
        self.started = self.started.max(level);
        restarted.into_iter().chain(new)
    }
}

/// `--max-new-users`: how many users may start now. A budget refilled at the rate and holding at
/// most a tenth of a second's worth (at least one user): a late tick can catch up, but a schedule
/// that held steady for a while does not save up a burst for the spike that follows.
#[derive(Debug)]
struct StartBudget {
    /// Users per second (this instance's share).
    rate: f64,
    budget: f64,
    /// When it was last refilled, since the start.
    refilled: Duration,
}

impl StartBudget {
    const SAVED: Duration = Duration::from_millis(100);

    fn new(rate: f64) -> StartBudget {
        StartBudget {
            rate,
            budget: StartBudget::cap(rate),
            refilled: Duration::ZERO,
        }
    }

    fn cap(rate: f64) -> f64 {
        (rate * StartBudget::SAVED.as_secs_f64()).max(1.0)
    }

    /// The users that may start at `t` since the start.
    fn room_at(&mut self, t: Duration) -> u64 {
        let since = t.saturating_sub(self.refilled).as_secs_f64();
        self.refilled = self.refilled.max(t);
        self.budget = (self.budget + self.rate * since).min(StartBudget::cap(self.rate));
        self.budget.floor().max(0.0) as u64
    }

    fn spend(&mut self) {
        self.budget -= 1.0;
    }
}

/// One closed-model user: runs its test while the schedule wants it and iterations remain.
#[allow(clippy::too_many_arguments)]
async fn user(
    ctx: Arc<LoadContext>,
    j: u64,
    vu: u64,
    level: watch::Receiver<u64>,
    claimed: Arc<AtomicU64>,
    share: Option<u64>,
    think: super::profile::Think,
    stop: CancellationToken,
) -> u64 {
    let mut level = level;
    let test = ctx.test_of(vu);
    loop {
        if j >= *level.borrow_and_update() || stop.is_cancelled() {
            return j;
        }
        let n = claimed.fetch_add(1, Ordering::Relaxed);
        if share.is_some_and(|share| n >= share) {
            return j;
        }
        let identity = Identity {
            vu: vu + 1,
            iteration: ctx.instance.nth(n) + 1,
        };
        let unconnected = ctx.iterate(test, identity, None).await;
        // An iteration that fails before it waits for anything (a bad URL, no file descriptor
        // left) gives its thread back here, or the schedule and the signals would never run.
        tokio::task::yield_now().await;
        let pause = if unconnected {
            think.draw().max(NO_CONNECTION_PAUSE)
        } else {
            think.draw()
        };
        if !pause.is_zero() {
            // A user the schedule retires stops thinking at once.
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = level.wait_for(|&level| j >= level) => return j,
                () = stop.cancelled() => return j,
            }
        }
    }
}

async fn open(ctx: Arc<LoadContext>, profile: &Profile, stop: CancellationToken) {
    let instance = ctx.instance;
    let max_running = instance.share_of(profile.max_users).max(1);
    let mut iterations: JoinSet<u64> = JoinSet::new();
    // Virtual user numbers of running iterations: the smallest free one is taken.
    let mut free: BTreeSet<u64> = BTreeSet::new();
    // Each running iteration's slot and its test.
    let mut running: BTreeMap<u64, usize> = BTreeMap::new();
    let mut next_slot = 0u64;
    let mut m = 0u64;
    let total = profile.iterations;
    // The schedule's last arrival comes before its end (at `--rate 2/s` for 3 s, at 2.5 s), and
    // the run lasts to the end all the same, as k6's constant arrival rate does: the rates are
    // per second of the schedule, and a run that stopped at its last arrival counted fewer
    // seconds than it offered load for (a goodput of 2.4/s at 2/s; 70 times the rate at 1/m).
    // A run that reached its number of iterations ends there.
    let schedule_end = ctx.started + profile.duration();
    'arrivals: loop {
        let k = ctx.owned(m);
        if total.is_some_and(|total| k >= total) {
            break;
        }
        let due = profile
            .arrival_time(k)
            .map_or(schedule_end, |due| ctx.started + due);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(due.into()) => break,
                Some(Ok(slot)) = iterations.join_next(), if !iterations.is_empty() => {
                    free.insert(slot);
                    running.remove(&slot);
                    ctx.set_active(iterations.len() as u64);
                }
                () = stop.cancelled() => break 'arrivals,
            }
        }
        if due >= schedule_end {
            // Past the last arrival: the schedule has ended.
            break;
        }
        let test = ctx.test_of(k);
        if iterations.len() as u64 >= max_running {
            if let Ok(mut recorder) = ctx.recorder.lock() {
                recorder.dropped(test);
            }
        } else {
            let slot = free.pop_first().unwrap_or_else(|| {
                next_slot += 1;
                next_slot - 1
            });
            let identity = Identity {
                vu: instance.nth(slot) + 1,
                iteration: k + 1,
            };
            running.insert(slot, test);
            let ctx_for_task = Arc::clone(&ctx);
            iterations.spawn(async move {
                ctx_for_task.iterate(test, identity, Some(due)).await;
                slot
            });
            ctx.set_active(iterations.len() as u64);
        }
        m += 1;
    }
    finish(
        &ctx,
        &mut iterations,
        &mut running,
        profile.graceful_stop,
        &stop,
    )
    .await;
}

/// Waits up to `grace` for the tasks still running, then cuts their iterations off: each
/// records what it measured and counts itself as cut off. One that does not end soon after is
/// aborted and counted as cut off with nothing measured. `pending`: each running task's result
/// (its user or slot) and the test it runs.
async fn finish(
    ctx: &LoadContext,
    tasks: &mut JoinSet<u64>,
    pending: &mut BTreeMap<u64, usize>,
    grace: Duration,
    stop: &CancellationToken,
) {
    let deadline = tokio::time::Instant::now() + grace;
    while !tasks.is_empty() {
        tokio::select! {
            joined = tasks.join_next() => {
                match joined {
                    Some(Ok(key)) => {
                        pending.remove(&key);
                    }
                    Some(Err(_)) => {}
                    None => break,
                }
                ctx.set_active(tasks.len() as u64);
            }
            () = tokio::time::sleep_until(deadline) => break,
            () = stop.cancelled() => break,
        }
    }
    ctx.cut_off.cancel();
    let recorded_by = tokio::time::Instant::now() + CUT_OFF_WAIT;
    while !tasks.is_empty() {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok(key)) => {
                    pending.remove(&key);
                }
                Some(Err(_)) => {}
                None => break,
            },
            () = tokio::time::sleep_until(recorded_by) => break,
        }
    }
    tasks.abort_all();
    while let Some(joined) = tasks.join_next().await {
        // One that ended between the deadline and the cancellation was not cut off.
        if let Ok(key) = joined {
            pending.remove(&key);
        }
    }
    ctx.set_active(0);
    if let Ok(mut recorder) = ctx.recorder.lock() {
        for test in pending.values() {
            recorder.interrupted(*test);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users started by the budget over `seconds`, asking every tick for as many as `wanted(t)`.
    fn started(rate: f64, seconds: f64, wanted: impl Fn(f64) -> u64) -> Vec<u64> {
        let mut budget = StartBudget::new(rate);
        let mut started = 0u64;
        let mut per_second = vec![0u64; seconds.ceil() as usize];
        let ticks = (seconds / TICK.as_secs_f64()).round() as u64;
        for tick in 0..ticks {
            let t = TICK * tick as u32;
            let room = budget.room_at(t);
            let new = wanted(t.as_secs_f64()).saturating_sub(started).min(room);
            for _ in 0..new {
                budget.spend();
            }
            started += new;
            per_second[t.as_secs() as usize] += new;
        }
        per_second
    }

    #[test]
    fn a_spike_after_a_steady_spell_starts_at_the_rate_not_in_a_burst() {
        // 10 users for 3 s, then 500 at once, at most 100 new users a second.
        let per_second = started(100.0, 7.0, |t| if t < 3.0 { 10 } else { 500 });
        assert_eq!(per_second[0], 10);
        // At most a second's worth plus the tenth of a second saved (10).
        for (second, started) in per_second.iter().enumerate().skip(3) {
            assert!(
                *started <= 110,
                "{started} users started in second {second}: {per_second:?}"
            );
        }
        let total: u64 = per_second.iter().sum();
        assert!((400..=420).contains(&total), "{per_second:?}");
    }

    #[test]
    fn the_users_below_a_level_not_running_are_the_stopped_ones_then_the_new_ones() {
        let mut users = StoppedUsers::default();
        assert_eq!(users.count_below(3), 3);
        assert_eq!(users.take_below(3).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(users.count_below(3), 0);
        assert_eq!(users.take_below(3).count(), 0);
        // The schedule goes down to 1: users 1 and 2 stop; then up to 5.
        users.stopped(2);
        users.stopped(1);
        assert_eq!(users.count_below(1), 0);
        assert_eq!(users.count_below(5), 4);
        assert_eq!(users.take_below(5).collect::<Vec<_>>(), [1, 2, 3, 4]);
        // A level below the users started takes only the stopped users under it.
        users.stopped(4);
        users.stopped(0);
        assert_eq!(users.take_below(2).collect::<Vec<_>>(), [0]);
        assert_eq!(users.count_below(5), 1);
        // A user never started that ends (it cannot) is not counted twice.
        users.stopped(9);
        assert_eq!(users.count_below(10), 6);
    }

    #[test]
    fn a_ramp_from_nothing_starts_at_the_rate() {
        let per_second = started(50.0, 3.0, |_| 1000);
        for started in &per_second {
            assert!((49..=56).contains(started), "{per_second:?}");
        }
    }
}
