//! The spec-directory config (`streamspec.toml`): variables and the services to start for a run.
