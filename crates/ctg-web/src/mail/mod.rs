//! Reminders by e-mail: the settings (SMTP server, sender, public address of the links), the worker
//! that every `ctg serve` starts (scan for due reminders, then send from the outbox), and the public
//! unsubscribe page.
//!
//! Nothing is kept in the server: reminders found by a scan are written to the outbox under a unique
//! key, so two servers scanning at once enqueue each once; the outbox rows are claimed with a lease
//! (see `ctg_store::outbox`), so two workers never send the same row, and a failure is retried later,
//! further away each time. Without the settings, no worker runs and nothing is enqueued.

mod reminders;

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::auth::Auth;
use crate::views::Nav;
use crate::{AppState, PageError, WebError};

pub use reminders::scan;

/// The sentence the account page shows when this server sends no mail.
pub const NOT_CONFIGURED: &str = "L'envoi de courriels n'est pas configuré sur ce serveur";

/// How this server sends mail. All three of `smtp_url`, `sender` and `public_url` are needed;
/// without one of them nothing is sent and nothing is enqueued.
#[derive(Debug, Clone, Default)]
pub struct MailConfig {
    /// `smtp://host:25` (clear, for a local relay), `smtp://host:587?tls=required` (STARTTLS),
    /// `smtps://host:465` (TLS from the start); user and password may be inside
    /// (`smtps://user:pass@host`).
    pub smtp_url: Option<String>,
    /// User and password given apart from the URL.
    pub credentials: Option<(String, String)>,
    /// The sender, `Nom <adresse>` or `adresse`.
    pub sender: Option<String>,
    /// The address of the platform as people reach it, for the links of the mails
    /// (`https://ctg.exemple.fr`).
    pub public_url: Option<String>,
    /// Time between two runs of the worker (scan, then sending).
    pub interval: Duration,
    /// The wait after a first failure, doubled after each further one (30 s when zero).
    pub retry_base: Duration,
}

impl MailConfig {
    pub fn is_configured(&self) -> bool {
        self.smtp_url.is_some() && self.sender.is_some() && self.public_url.is_some()
    }

    /// The public address without its final `/`.
    pub(crate) fn base(&self) -> String {
        self.public_url.as_deref().unwrap_or("").trim_end_matches('/').to_owned()
    }

    /// Checks the settings: the error names the wrong one, in French.
    pub fn check(&self) -> Result<(), String> {
        if let Some(sender) = &self.sender {
            sender.parse::<Mailbox>().map_err(|e| format!("expéditeur des courriels « {sender} » invalide : {e}"))?;
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "adresse publique « {url} » invalide : elle doit commencer par http:// ou https://"
                ));
            }
        }
        if let Some(url) = &self.smtp_url {
            self.transport(url)?;
        }
        Ok(())
    }

    fn transport(&self, url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("adresse du serveur SMTP invalide : {e}"))?
            .timeout(Some(Duration::from_secs(20)));
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }
}

/// A worker: its name in the outbox's claims, its SMTP transport and sender.
pub struct Worker {
    name: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    sender: Mailbox,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Worker {
    /// The worker of `state`'s settings; `None` when mail is not configured.
    pub fn new(state: &AppState) -> Result<Option<Self>, String> {
        let config = &state.mail;
        let (Some(url), Some(sender)) = (&config.smtp_url, &config.sender) else { return Ok(None) };
        if !config.is_configured() {
            return Ok(None);
        }
        config.check()?;
        Ok(Some(Self {
            name: format!("{}-{}", std::process::id(), &ctg_store::random_secret()[..12]),
            transport: config.transport(url)?,
            sender: sender.parse().map_err(|e| format!("expéditeur invalide : {e}"))?,
        }))
    }

    /// One run: looks for due reminders, then sends what the outbox holds. Returns how many mails
    /// were enqueued and how many sent.
    pub async fn run_once(&self, state: &AppState) -> (usize, usize) {
        let found = scan(state, Utc::now()).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reminder scan failed");
            0
        });
        let sent = deliver(state, self).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "mail delivery failed");
            0
        });
        (found, sent)
    }
}

/// The worker of this server: every `interval`, [`Worker::run_once`]. `None` when mail is not
/// configured.
pub fn spawn_worker(state: AppState) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(worker) = Worker::new(&state)? else { return Ok(None) };
    tracing::info!(worker = %worker.name, interval = ?state.mail.interval, "mail worker started");
    Ok(Some(tokio::spawn(async move {
        loop {
            worker.run_once(&state).await;
            tokio::time::sleep(state.mail.interval).await;
        }
    })))
}

/// How long a worker holds a claimed mail before another may take it (it died meanwhile).
const LEASE_MINUTES: i64 = 5;

/// Sends the mails of the outbox that are due, a batch at a time; returns how many were sent.
pub async fn deliver(state: &AppState, w: &Worker) -> Result<usize, WebError> {
    let (transport, worker) = (&w.transport, w.name.as_str());
    let host = state
        .mail
        .base()
        .split("://")
        .nth(1)
        .unwrap_or("localhost")
        .split(['/', ':'])
        .next()
        .unwrap_or("localhost")
        .to_owned();
    let mut sent = 0;
    loop {
        let batch = state.store.claim_mails(worker, Utc::now(), chrono::Duration::minutes(LEASE_MINUTES), 20).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        let mut failed = false;
        for mail in batch {
            // A failure is permanent when the server refuses for good (5xx) or the message cannot be
            // written (an address that does not parse): trying again would fail again.
            let outcome = match message(&mail, &w.sender, &host) {
                Ok(m) => transport.send(m).await.map(|_| ()).map_err(|e| (e.is_permanent(), format!("{e}"))),
                Err(e) => Err((true, e)),
            };
            match outcome {
                Ok(()) => {
                    state.store.mark_mail_sent(mail.id, worker, Utc::now()).await?;
                    sent += 1;
                }
                Err((permanent, e)) if ctg_domain::reminders::gives_up(mail.attempts, permanent) => {
                    tracing::error!(mail = mail.id, attempts = mail.attempts, permanent, error = %e, "mail abandoned");
                    state.store.abandon_mail(mail.id, worker, &e, Utc::now()).await?;
                }
                Err((_, e)) => {
                    failed = true;
                    tracing::warn!(mail = mail.id, attempts = mail.attempts, error = %e, "mail not sent");
                    let retry = ctg_domain::reminders::retry_at(mail.attempts, Utc::now(), state.mail.retry_base);
                    state.store.mark_mail_failed(mail.id, worker, &e, retry).await?;
                }
            }
        }
        if failed {
            // The server refuses or is away: the rest waits for the next run.
            return Ok(sent);
        }
    }
}

/// The message of an outbox row: plain text and HTML alternatives, and its attachment if any.
/// Its `Message-ID` names the outbox row: a mail sent twice would show it twice.
fn message(mail: &ctg_store::OutboxMail, sender: &Mailbox, host: &str) -> Result<Message, String> {
    let to: Mailbox =
        mail.recipient.parse().map_err(|e| format!("destinataire « {} » invalide : {e}", mail.recipient))?;
    let alternative = MultiPart::alternative_plain_html(mail.body_text.clone(), mail.body_html.clone());
    let builder = Message::builder()
        .from(sender.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<ctg-rappel-{}@{host}>", mail.id)));
    let body = match (&mail.attachment_name, &mail.attachment) {
        (Some(name), Some(content)) => {
            MultiPart::mixed().multipart(alternative).singlepart(Attachment::new(name.clone()).body(
                content.clone(),
                ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH").map_err(|e| e.to_string())?,
            ))
        }
        _ => alternative,
    };
    builder.multipart(body).map_err(|e| format!("courriel impossible à former : {e}"))
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    nav: Nav,
    found: bool,
    all: bool,
    what: String,
    email: String,
    token: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct UnsubscribeQuery {
    tout: Option<String>,
}

/// `GET /desabonnement/{jeton}`: the link at the foot of every mail. One click stops the kind of
/// reminder the mail was (every kind with `?tout=1`, or from a weekly digest); no login needed, the
/// random secret of the link is the proof. The page says what was stopped.
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    auth: Auth,
    Path(token): Path<String>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<UnsubscribeQuery>,
) -> Result<Response, PageError> {
    let all = q.tout.is_some();
    let done = if token.len() > 100 { None } else { state.store.unsubscribe(&token, all).await? };
    let (status, page) = match done {
        Some(u) => (
            StatusCode::OK,
            UnsubscribePage {
                nav: Nav::of(&auth),
                found: true,
                all: u.kind.is_none(),
                what: u.kind.map(|k| k.label().to_owned()).unwrap_or_default(),
                email: u.email,
                token,
            },
        ),
        None => (
            StatusCode::NOT_FOUND,
            UnsubscribePage {
                nav: Nav::of(&auth),
                found: false,
                all,
                what: String::new(),
                email: String::new(),
                token: String::new(),
            },
        ),
    };
    Ok((status, [(axum::http::header::CACHE_CONTROL, "no-store")], Html(page.render()?)).into_response())
}
