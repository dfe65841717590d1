//! Why domain input was refused, without HTTP: a stable problem kind and a human detail.
//!
//! Domain code (the stats parser, ingest validation) refuses input with an [`Invalid`]; the API
//! turns it into a 400 problem+json whose `type` ends in the kind, and the worker logs it. The
//! kind is part of the public contract (clients match on it), so it never changes once shipped.

/// Input the domain refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct Invalid {
    /// Stable snake_case problem kind (e.g. `invalid_metric`).
    pub kind: &'static str,
    /// What was wrong this time.
    pub detail: String,
}

impl Invalid {
    /// Refuses input as `kind`, saying why.
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}
