//! Success answers shared by operations: 201 with the resource created, 204 with no body.
//! Operations with another answer (202 with a report, 200 with a cookie) declare their own.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};

/// 201 with the resource created.
#[derive(ApiResponse)]
pub enum Created<T: ParseFromJSON + ToJSON> {
    /// Created; the body is the new resource.
    #[oai(status = 201)]
    Created(Json<T>),
}

/// 204: done, nothing to return.
#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}
