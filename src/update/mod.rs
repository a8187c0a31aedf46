//! Snapshot update (`run --update`): failed expectations carry a [`Fix`](crate::outcome::Fix)
//! computed by the interpreter from what was observed; this module writes them back to the spec
//! files as each test ends, in place or into `name.stream.new` files for `streamspec review`.

pub mod apply;
pub mod block;
pub mod observed;
pub mod pending;
pub mod rebase;
pub mod redactions;
pub mod shape;
pub mod spec_edits;
pub mod volatile;

use clap::ValueEnum;

/// What `--update` does with the fixes of failed expectations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdateMode {
    /// Rewrite the spec files in place, unless `CI` is set (then: never).
    Auto,
    /// Rewrite the spec files in place, even under CI.
    InPlace,
    /// Write `name.stream.new` beside each spec, for `streamspec review`.
    Pending,
    /// Write nothing (the default under CI).
    Never,
}

impl UpdateMode {
    /// `auto` made concrete: CI machines never write.
    pub fn resolve(self) -> UpdateMode {
        match self {
            UpdateMode::Auto if running_in_ci() => UpdateMode::Never,
            UpdateMode::Auto => UpdateMode::InPlace,
            other => other,
        }
    }
}

/// `CI` set to anything but `false` or `0`, as most CI services do.
pub fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "false" | "0"))
}
