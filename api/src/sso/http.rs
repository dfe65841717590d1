//! openidconnect's HTTP calls (discovery, keys, token exchange) through Beacon's outbound
//! client ([`worker::outbound`]): no redirects, public addresses only unless the operator
//! allows private ones (every URL is checked, including those the discovery document names),
//! a timeout, and a cap on what an identity provider may send back.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The most an identity provider's answer may hold (metadata, keys, tokens).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Why a call to the identity provider failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be made or answered.
    #[error("{0}")]
    Transport(String),
    /// The answer was larger than [`MAX_RESPONSE_BYTES`].
    #[error("the identity provider's answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

/// Beacon's outbound client as openidconnect's HTTP client. A named type with a boxed `Send`
/// future rather than a closure, so the sign-in's futures stay `Send` for any lifetime.
pub struct Outbound<'a>(pub &'a worker::outbound::Outbound);

impl<'c> AsyncHttpClient<'c> for Outbound<'_> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

/// Sends `request` with `outbound`, after its target check.
pub async fn send(
    outbound: &worker::outbound::Outbound,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let request = reqwest::Request::try_from(request)
        .map_err(|error| HttpError::Transport(error.to_string()))?;
    outbound
        .check(request.url())
        .map_err(HttpError::Transport)?;
    let mut response = outbound
        .http()
        .execute(request)
        .await
        .map_err(|error| HttpError::Transport(worker::outbound::describe(&error)))?;
    let mut builder = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| HttpError::Transport(worker::outbound::describe(&error)))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    builder
        .body(body)
        .map_err(|error| HttpError::Transport(error.to_string()))
}
