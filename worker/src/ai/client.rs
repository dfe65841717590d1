//! The one client for the installation's AI endpoint: any OpenAI-compatible chat completions
//! API (OpenAI, Azure OpenAI's v1 API, a local Ollama or vLLM), through `async-openai`.
//!
//! Only the HTTP base URL differs between them, so the tests run this same code against a local
//! fake. Each attempt has a timeout. A refusal the endpoint says is passing (429 other than
//! `insufficient_quota`, 5xx) or a failed connection is retried by `async-openai` itself (three
//! retries, exponential backoff from 100 ms, `Retry-After` honoured); an attempt that times out
//! is retried here, with backoff. A streamed answer is retried only until its first byte (after
//! that, a retry would repeat text the reader has seen).

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, CreateChatCompletionRequest,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use tenant::backoff::Backoff;

/// How the installation reaches its AI endpoint (`BEACON_AI_*`).
#[derive(Debug, Clone)]
pub struct AiConfig {
    /// The API's base URL, up to and including `/v1` (`https://api.openai.com/v1`,
    /// `http://localhost:11434/v1` for Ollama).
    pub base_url: String,
    /// The API key (none for a local server that needs none).
    pub api_key: Option<String>,
    /// The model (`gpt-4o-mini`, `llama3.1`).
    pub model: String,
    /// How long one attempt may take, streaming included.
    pub timeout: Duration,
    /// Attempts in all for an answer that times out (1: no retry).
    pub attempts: u32,
    /// The wait before retrying after a timeout; it doubles after each.
    pub first_retry: Duration,
}

impl AiConfig {
    /// The default model when none is named.
    pub const DEFAULT_MODEL: &'static str = "gpt-4o-mini";
    /// Attempts in all by default.
    pub const DEFAULT_ATTEMPTS: u32 = 3;
}

/// Why the endpoint gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    /// No answer, or 5xx after every attempt: try again later.
    #[error("the AI endpoint did not answer: {0}")]
    Unavailable(String),
    /// No answer within the timeout, on every attempt.
    #[error("the AI endpoint did not answer in time: {0}")]
    TimedOut(String),
    /// 429 after every attempt: the endpoint's own rate limit or quota.
    #[error("the AI endpoint is rate limiting Beacon: {0}")]
    RateLimited(String),
    /// Any other refusal (a wrong key or model): the operator must fix the configuration.
    #[error("the AI endpoint refused the request: {0}")]
    Refused(String),
}

impl AiError {
    /// Only timeouts are retried here (`async-openai` retries the rest).
    fn retryable(&self) -> bool {
        matches!(self, AiError::TimedOut(_))
    }
}

impl From<OpenAIError> for AiError {
    fn from(error: OpenAIError) -> Self {
        match error {
            OpenAIError::ApiError(response) => {
                let status = response.status_code;
                // The endpoint's own words go to the log only: they may quote the operator's key
                // (masked) or the request, which the organization's members need not see.
                let message: String = response.api_error.message.chars().take(300).collect();
                tracing::warn!(%status, %message, "the AI endpoint answered an error");
                let said = match &response.api_error.r#type {
                    Some(kind) => format!("HTTP {} ({kind})", status.as_u16()),
                    None => format!("HTTP {}", status.as_u16()),
                };
                if status.as_u16() == 429 {
                    AiError::RateLimited(said)
                } else if status.is_server_error() || status.as_u16() == 408 {
                    AiError::Unavailable(said)
                } else {
                    AiError::Refused(said)
                }
            }
            OpenAIError::Reqwest(error) if error.is_timeout() => {
                AiError::TimedOut(crate::outbound::describe(&error))
            }
            OpenAIError::Reqwest(error) => AiError::Unavailable(crate::outbound::describe(&error)),
            OpenAIError::StreamError(error) => AiError::Unavailable(error.to_string()),
            other => {
                tracing::warn!(error = %other, "the AI endpoint's answer could not be read");
                AiError::Refused("its answer could not be read".to_owned())
            }
        }
    }
}

/// The two messages of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The instructions (the same for every organization).
    pub system: String,
    /// The data of this request.
    pub user: String,
}

/// A whole answer and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text.
    pub text: String,
    /// Tokens of the prompt.
    pub prompt_tokens: i64,
    /// Tokens of the answer.
    pub completion_tokens: i64,
}

/// A piece of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// More text.
    Text(String),
    /// What the whole request cost (the last piece, when the endpoint says).
    Usage {
        /// Tokens of the prompt.
        prompt_tokens: i64,
        /// Tokens of the answer.
        completion_tokens: i64,
    },
}

/// The client.
#[derive(Clone)]
pub struct Ai {
    client: Client<OpenAIConfig>,
    config: AiConfig,
}

impl std::fmt::Debug for Ai {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ai")
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .finish()
    }
}

/// Whether `base_url` is Azure OpenAI's, which takes the key in an `api-key` header.
fn is_azure(base_url: &str) -> bool {
    url::Url::parse(base_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .is_some_and(|host| {
            host.ends_with(".openai.azure.com") || host.ends_with(".cognitiveservices.azure.com")
        })
}

impl Ai {
    /// A client for `config`; fails on a base URL that is not http(s).
    pub fn new(config: AiConfig) -> anyhow::Result<Self> {
        let url = url::Url::parse(&config.base_url)
            .map_err(|error| anyhow::anyhow!("BEACON_AI_BASE_URL is not a URL: {error}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            anyhow::bail!("BEACON_AI_BASE_URL must be http or https");
        }
        let key = config.api_key.clone().unwrap_or_default();
        let mut openai = OpenAIConfig::new()
            .with_api_base(config.base_url.trim_end_matches('/'))
            .with_api_key(key.clone());
        if is_azure(&config.base_url) {
            openai = openai.with_header("api-key", key)?;
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(config.timeout))
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client: Client::build(http, openai),
            config,
        })
    }

    /// The model answers come from.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    fn request(&self, prompt: &Prompt, stream: bool) -> CreateChatCompletionRequest {
        CreateChatCompletionRequest {
            model: self.config.model.clone(),
            messages: vec![
                ChatCompletionRequestMessage::from(ChatCompletionRequestSystemMessage::from(
                    prompt.system.as_str(),
                )),
                ChatCompletionRequestMessage::from(ChatCompletionRequestUserMessage::from(
                    prompt.user.as_str(),
                )),
            ],
            temperature: Some(0.2),
            max_completion_tokens: Some(MAX_ANSWER_TOKENS),
            stream_options: stream.then(|| ChatCompletionStreamOptions {
                include_usage: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or every attempt is spent.
    async fn retrying<T, F>(&self, mut attempt: impl FnMut() -> F) -> Result<T, AiError>
    where
        F: Future<Output = Result<T, AiError>>,
    {
        let mut backoff = Backoff::new(self.config.first_retry, Duration::from_secs(20));
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if error.retryable() && tries < self.config.attempts.max(1) => {
                    tracing::info!(%error, tries, "AI request failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The whole answer to `prompt`.
    pub async fn complete(&self, prompt: &Prompt) -> Result<Completion, AiError> {
        let request = self.request(prompt, false);
        let response = self
            .retrying(|| async { Ok(self.client.chat().create(request.clone()).await?) })
            .await?;
        let text = response
            .choices
            .into_iter()
            .filter_map(|choice| choice.message.content)
            .collect::<String>();
        let (prompt_tokens, completion_tokens) = match response.usage {
            Some(usage) => (
                i64::from(usage.prompt_tokens),
                i64::from(usage.completion_tokens),
            ),
            None => (
                estimate_tokens(&prompt.system) + estimate_tokens(&prompt.user),
                estimate_tokens(&text),
            ),
        };
        Ok(Completion {
            text,
            prompt_tokens,
            completion_tokens,
        })
    }

    /// The answer to `prompt` as it is written. Opening the stream is retried; a failure after
    /// that ends the stream with the error.
    pub async fn stream(
        &self,
        prompt: &Prompt,
    ) -> Result<BoxStream<'static, Result<Piece, AiError>>, AiError> {
        let request = self.request(prompt, true);
        let opened = self
            .retrying(|| async { Ok(self.client.chat().create_stream(request.clone()).await?) })
            .await?;
        let pieces = opened.flat_map(|chunk| {
            let pieces: Vec<Result<Piece, AiError>> = match chunk {
                Ok(chunk) => {
                    let mut pieces: Vec<Result<Piece, AiError>> = chunk
                        .choices
                        .into_iter()
                        .filter_map(|choice| choice.delta.content)
                        .filter(|text| !text.is_empty())
                        .map(|text| Ok(Piece::Text(text)))
                        .collect();
                    if let Some(usage) = chunk.usage {
                        pieces.push(Ok(Piece::Usage {
                            prompt_tokens: i64::from(usage.prompt_tokens),
                            completion_tokens: i64::from(usage.completion_tokens),
                        }));
                    }
                    pieces
                }
                Err(error) => vec![Err(AiError::from(error))],
            };
            futures::stream::iter(pieces)
        });
        Ok(pieces.boxed())
    }
}

/// The longest answer asked for.
pub const MAX_ANSWER_TOKENS: u32 = 700;

/// Tokens of `text` when the endpoint does not count them: about four characters each.
pub fn estimate_tokens(text: &str) -> i64 {
    i64::try_from(text.chars().count().div_ceil(4)).unwrap_or(i64::MAX)
}
