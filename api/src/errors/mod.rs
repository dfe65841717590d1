//! JS errors from Sentry-compatible SDKs: the envelope and store endpoints, and what happens
//! to an event before it is stored (normalize → symbolicate → scrub → group → record).
pub mod body;
pub mod envelope;
pub mod event;
pub mod grouping;
pub mod ingest;
pub mod scrub;
pub mod symbolicate;
