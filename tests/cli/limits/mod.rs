//! Resource limits: what a spec may hold (nesting depth, durations, integer literals) and which
//! files are read as specs, each refused with a clear error at check time instead of a crash,
//! a hang or a false pass at run time.

mod durations;
mod nesting;
mod numbers;
mod spec_files;
