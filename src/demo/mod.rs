//! The bundled demo service (`streamspec demo`): an endpoint for each scenario in scenarios.md.
