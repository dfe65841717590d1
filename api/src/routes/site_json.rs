//! The body the site scripts send to the ingestion endpoints (`/api/event`, `/api/vitals`,
//! `/api/heatmap`): JSON, as `application/json`, or the same JSON as `text/plain`, which is how
//! the scripts send it (a `text/plain` request needs no CORS preflight). One type, so every
//! endpoint accepts and refuses it the same way; each endpoint's own description says what the
//! JSON holds.

use poem_openapi::ApiRequest;
use poem_openapi::payload::{Json, PlainText};
use serde_json::Value;
use tenant::problem::ProblemKind;

use crate::error::{ApiError, ApiResult};

/// JSON, as `application/json` or as the same JSON in `text/plain` (what the site scripts
/// send: it needs no CORS preflight). The operation's description says what it holds.
#[derive(ApiRequest)]
pub enum SiteJson {
    /// JSON.
    Json(Json<Value>),
    /// The same JSON as text.
    Text(PlainText<String>),
}

impl SiteJson {
    /// The JSON value; 400 `invalid_json` when text is not JSON.
    pub fn into_value(self) -> ApiResult<Value> {
        match self {
            Self::Json(Json(value)) => Ok(value),
            Self::Text(PlainText(text)) => serde_json::from_str(&text).map_err(|e| {
                ApiError::bad_request(
                    ProblemKind::InvalidJson,
                    format!("the body is not JSON: {e}"),
                )
            }),
        }
    }
}
