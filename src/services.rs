//! Starting and stopping the services a spec directory needs, with readiness probes.
