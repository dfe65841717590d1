//! JS errors from Sentry-compatible SDKs, from the wire to the stored issue: envelope parsing,
//! normalization, symbolication with uploaded source maps, scrubbing and grouping, then
//! [`record`] in the project's scope, through the group-commit [`writer`]. The HTTP endpoints
//! (`api`'s `routes/sentry.rs`) only authenticate, decode and answer.
pub mod envelope;
pub mod event;
pub mod grouping;
pub mod notices;
pub mod record;
pub mod scrub;
pub mod symbolicate;
pub mod writer;
