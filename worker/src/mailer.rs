//! Sending e-mail: tera templates (HTML and text) delivered over SMTP with lettre.
//!
//! Without an SMTP server configured, messages are written as `.eml` files to a directory
//! instead, so a self-hosted Beacon with no mail server still lets its operator read the
//! verification link. Addresses and links never go to the log.

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tera::Tera;

/// Where mail goes.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://host:port` (plain or STARTTLS when offered), `smtps://host:port` (TLS), with
    /// optional `user:password@`. `None`: write `.eml` files to `outbox`.
    pub smtp_url: Option<String>,
    /// Directory for `.eml` files when there is no SMTP server.
    pub outbox: PathBuf,
    /// `From:` address.
    pub from: String,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// Renders and sends Beacon's e-mails.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    templates: Tera,
}

/// What some e-mails carry beyond their text.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// An image the HTML shows as `cid:<id>`: `(id, PNG bytes)`.
    pub inline_png: Option<(String, Vec<u8>)>,
    /// The one-click unsubscribe URL (`List-Unsubscribe`, `List-Unsubscribe-Post`).
    pub list_unsubscribe: Option<String>,
}

/// Templates: `(name, source)`; each e-mail has `<name>.html` and `<name>.txt`.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "verify_email.html",
        include_str!("../templates/verify_email.html"),
    ),
    (
        "verify_email.txt",
        include_str!("../templates/verify_email.txt"),
    ),
    (
        "reset_password.html",
        include_str!("../templates/reset_password.html"),
    ),
    (
        "reset_password.txt",
        include_str!("../templates/reset_password.txt"),
    ),
    (
        "invitation.html",
        include_str!("../templates/invitation.html"),
    ),
    (
        "owner_notice.html",
        include_str!("../templates/owner_notice.html"),
    ),
    (
        "owner_notice.txt",
        include_str!("../templates/owner_notice.txt"),
    ),
    (
        "invitation.txt",
        include_str!("../templates/invitation.txt"),
    ),
    (
        "export_ready.html",
        include_str!("../templates/export_ready.html"),
    ),
    (
        "export_ready.txt",
        include_str!("../templates/export_ready.txt"),
    ),
    ("report.html", include_str!("../templates/report.html")),
    (
        "notifications.html",
        include_str!("../templates/notifications.html"),
    ),
    (
        "notifications.txt",
        include_str!("../templates/notifications.txt"),
    ),
    ("report.txt", include_str!("../templates/report.txt")),
];

impl Mailer {
    /// Builds the transport and compiles the templates.
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("invalid BEACON_SMTP_URL")?
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&config.outbox)
                    .with_context(|| format!("creating mail outbox {}", config.outbox.display()))?;
                Transport::File(AsyncFileTransport::new(&config.outbox))
            }
        };
        let from = config
            .from
            .parse()
            .with_context(|| format!("invalid BEACON_MAIL_FROM {:?}", config.from))?;
        let mut templates = Tera::default();
        templates
            .add_raw_templates(TEMPLATES.iter().copied())
            .context("compiling e-mail templates")?;
        Ok(Self {
            transport,
            from,
            templates,
        })
    }

    /// Renders `<template>.html` and `<template>.txt` with `context` and sends them to `to`.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        template: &str,
        context: &tera::Context,
    ) -> anyhow::Result<()> {
        self.send_with(to, subject, (template, context), &Extras::default())
            .await
    }

    /// [`send`](Self::send) with an inline image and a `List-Unsubscribe` header.
    pub async fn send_with(
        &self,
        to: &str,
        subject: &str,
        (template, context): (&str, &tera::Context),
        extras: &Extras,
    ) -> anyhow::Result<()> {
        let html = self
            .templates
            .render(&format!("{template}.html"), context)
            .context("rendering HTML e-mail")?;
        let text = self
            .templates
            .render(&format!("{template}.txt"), context)
            .context("rendering text e-mail")?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to.parse().context("invalid recipient address")?)
            .subject(subject);
        if let Some(url) = &extras.list_unsubscribe {
            // RFC 2369 and RFC 8058: mail clients offer "Unsubscribe" and POST to the link.
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let body = match &extras.inline_png {
            None => MultiPart::alternative_plain_html(text, html),
            Some((content_id, png)) => MultiPart::alternative()
                .singlepart(SinglePart::plain(text))
                .multipart(
                    MultiPart::related()
                        .singlepart(SinglePart::html(html))
                        .singlepart(
                            Attachment::new_inline(content_id.clone())
                                .body(png.clone(), ContentType::parse("image/png")?),
                        ),
                ),
        };
        let message = builder.multipart(body).context("building e-mail")?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|error| anyhow::anyhow!(describe_smtp_error(&error))),
            Transport::File(file) => file.send(message).await.map(drop).context("writing e-mail"),
        }
    }
}

/// What went wrong with SMTP, without the server's reply text: servers echo the recipient's
/// address there, and this message goes to the log and the job list.
fn describe_smtp_error(error: &lettre::transport::smtp::Error) -> String {
    let kind = if error.is_permanent() {
        "permanent rejection"
    } else if error.is_transient() {
        "temporary rejection"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_tls() {
        "TLS failure"
    } else {
        "connection or protocol failure"
    };
    match error.status() {
        Some(code) => format!("SMTP delivery: {kind} (code {code})"),
        None => format!("SMTP delivery: {kind}"),
    }
}
