//! Whether the load generator was saturated in a second — over 90% of its CPUs, the machine's
//! CPUs busy (other processes' work included), or its timers firing late — so that the live line
//! and the summary say that latencies it measured then include its own delays.

use std::time::Duration;

/// The load generator counts as saturated above this share of its CPUs, or of the machine's…
pub const SATURATED_CPU: f64 = 0.9;
/// …or when its timers fire this late.
pub const SATURATED_LAG: Duration = Duration::from_millis(50);

/// What the sampler measured of one second.
#[derive(Debug, Clone, Copy, Default)]
pub struct Second {
    /// streamspec's own CPU (100 = one core); `None` on the first sample.
    pub own_cpu: Option<f64>,
    /// The CPUs it may use.
    pub cpus: u64,
    /// How busy the machine's CPUs were, every process together, in percent of all of them;
    /// `None` on the first sample, or without `/proc/stat`.
    pub machine_busy: Option<f64>,
    /// How late its timers fired at worst, in milliseconds.
    pub lag_ms: f64,
}

/// Why the load generator was saturated in a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cause {
    /// It used over 90% of its CPUs itself (the percent, 100 = one core).
    OwnCpu(f64),
    /// The machine's CPUs were over 90% busy (the percent of all of them): other processes
    /// took what the load generator would have needed, however little it used itself.
    MachineCpu(f64),
    /// Its timers fired this late (milliseconds).
    Timers(f64),
}

/// The causes of saturation in `second`, if any. A client busy itself is not said to be busy
/// again as the machine.
pub fn causes(second: &Second) -> Vec<Cause> {
    let mut causes = Vec::new();
    let own = second
        .own_cpu
        .filter(|cpu| *cpu > SATURATED_CPU * 100.0 * second.cpus as f64);
    if let Some(cpu) = own {
        causes.push(Cause::OwnCpu(cpu));
    } else if let Some(busy) = second
        .machine_busy
        .filter(|busy| *busy > SATURATED_CPU * 100.0)
    {
        causes.push(Cause::MachineCpu(busy));
    }
    if second.lag_ms > SATURATED_LAG.as_secs_f64() * 1000.0 {
        causes.push(Cause::Timers(second.lag_ms));
    }
    causes
}

/// Each kind of saturation seen, once: when it began, and its worst second.
#[derive(Debug, Default)]
pub struct Noted(Vec<(Cause, String)>);

impl Noted {
    /// Notes the causes of one second, `from` being when it began (`0:12`).
    pub fn add(&mut self, causes: &[Cause], from: &str) {
        for cause in causes {
            match self
                .0
                .iter_mut()
                .find(|(known, _)| known.kind() == cause.kind())
            {
                Some((worst, _)) => {
                    if cause.value() > worst.value() {
                        *worst = *cause;
                    }
                }
                None => self.0.push((*cause, from.to_string())),
            }
        }
    }

    /// The summary's notes, in the order the kinds first came.
    pub fn notes(&self, cpus: u64) -> Vec<String> {
        self.0
            .iter()
            .map(|(worst, from)| worst.note(cpus, from))
            .collect()
    }
}

impl Cause {
    /// Each kind of cause is noted once in the summary, with when it first came and its worst.
    pub fn kind(&self) -> &'static str {
        match self {
            Cause::OwnCpu(_) => "CPU",
            Cause::MachineCpu(_) => "machine CPU",
            Cause::Timers(_) => "timers",
        }
    }

    /// How far past its bound: the worst second of a kind is the one its note gives.
    pub fn value(&self) -> f64 {
        match self {
            Cause::OwnCpu(value) | Cause::MachineCpu(value) | Cause::Timers(value) => *value,
        }
    }

    /// For the live line: `CPU 185% of 2 CPUs`, `machine CPU 97% busy`, `timers 60ms late`.
    pub fn live(&self, cpus: u64) -> String {
        match self {
            Cause::OwnCpu(cpu) => format!("CPU {cpu:.0}% of {cpus} CPUs"),
            Cause::MachineCpu(busy) => format!("machine CPU {busy:.0}% busy"),
            Cause::Timers(lag_ms) => format!("timers {lag_ms:.0}ms late"),
        }
    }

    /// For the summary, `from` being when it began (`0:12`).
    pub fn note(&self, cpus: u64, from: &str) -> String {
        match self {
            Cause::OwnCpu(_) => format!(
                "the load generator used over {:.0}% of its {} (from {from}): latencies it measured then include its own delays",
                SATURATED_CPU * 100.0,
                crate::report::plural(cpus as usize, "CPU"),
            ),
            Cause::MachineCpu(busy) => format!(
                "the machine's CPUs were {busy:.0}% busy (from {from}), other processes' work included: the load generator got less CPU than it needed, and latencies it measured then include its own delays"
            ),
            Cause::Timers(lag_ms) => format!(
                "the load generator's timers fired up to {} late (from {from}): it was too busy to read and time every stream",
                super::summary::millis(*lag_ms),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(own_cpu: f64, machine_busy: f64, lag_ms: f64) -> Second {
        Second {
            own_cpu: Some(own_cpu),
            cpus: 2,
            machine_busy: Some(machine_busy),
            lag_ms,
        }
    }

    #[test]
    fn a_note_gives_when_a_kind_began_and_its_worst_second() {
        let mut noted = Noted::default();
        noted.add(&[Cause::Timers(192.0)], "0:01");
        noted.add(&[Cause::Timers(588.0), Cause::OwnCpu(185.0)], "0:02");
        noted.add(&[Cause::Timers(70.0)], "0:03");
        assert_eq!(
            noted.notes(2),
            vec![
                "the load generator's timers fired up to 588ms late (from 0:01): it was too busy to read and time every stream".to_string(),
                "the load generator used over 90% of its 2 CPUs (from 0:02): latencies it measured then include its own delays".to_string(),
            ]
        );
    }

    #[test]
    fn a_busy_machine_saturates_the_client_even_when_it_uses_little_cpu() {
        // Another process takes the machine: the client uses 20% of a core, the machine is
        // 97% busy.
        let causes = causes(&second(20.0, 97.0, 3.0));
        assert_eq!(causes, vec![Cause::MachineCpu(97.0)]);
        assert_eq!(causes[0].live(2), "machine CPU 97% busy");
    }

    #[test]
    fn a_client_over_its_cpus_or_late_is_saturated_and_said_so_once() {
        assert_eq!(causes(&second(20.0, 40.0, 3.0)), vec![]);
        // Its own CPU explains the machine's: one cause, not two.
        assert_eq!(
            causes(&second(185.0, 99.0, 60.0)),
            vec![Cause::OwnCpu(185.0), Cause::Timers(60.0)]
        );
        assert_eq!(Cause::OwnCpu(185.0).live(2), "CPU 185% of 2 CPUs");
        // 90% of the machine is not over 90%.
        assert_eq!(causes(&second(20.0, 90.0, 50.0)), vec![]);
        // Without a sample of the machine, only the client's own figures count.
        let unknown = Second {
            machine_busy: None,
            ..second(20.0, 0.0, 3.0)
        };
        assert_eq!(causes(&unknown), vec![]);
    }
}
