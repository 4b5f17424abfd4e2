//! Logging in and out, and one's own account: password and API tokens.

pub mod admin;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use ctg_domain::access::Action;
use ctg_domain::format::datetime_short;
use ctg_domain::reminders::{Frequency, ReminderKind};
use ctg_domain::Channel;
use ctg_store::{random_secret, LoginError};
use serde::Deserialize;

use crate::auth::{constant_time_eq, cookie_value, Auth, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::extract::{Ids, PageForm};
use crate::views::{FormErrors, Nav};
use crate::{AppState, PageError, WebError};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    csrf: String,
    next: String,
    email: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    suite: Option<String>,
}

/// Only a path of this site may follow a login: never another site. A local path starts with one
/// `/` not followed by another `/` or `\`; no control character or whitespace anywhere (browsers drop
/// tabs and line breaks from URLs, so `/\t/evil.example` would lead to `//evil.example`); no `\` at
/// all. Anything else leads home.
fn safe_next(next: Option<&str>) -> String {
    // After logging in, one's dashboard, unless the login was asked on the way to a page.
    let Some(n) = next.filter(|n| !n.is_empty()) else { return "/tableau-de-bord".to_owned() };
    let mut chars = n.chars();
    let local = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if local && axum::http::HeaderValue::from_str(n).is_ok() {
        n.to_owned()
    } else {
        "/".to_owned()
    }
}

/// The token of the login form whose cookie holds `pre_session`: a keyed digest with a secret of
/// the server, so that only a pair the server made is accepted (an attacker cannot make up one).
async fn login_form_token(state: &AppState, pre_session: &str) -> Result<String, WebError> {
    let key = state.store.server_secret("login_form").await?;
    Ok(ctg_store::digest(&format!("{key}|{pre_session}")))
}

async fn login_page(
    state: &AppState,
    next: &str,
    email: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let pre_session = random_secret();
    let csrf = login_form_token(state, &pre_session).await?;
    let page = LoginPage { nav: Nav::default(), csrf, next: next.to_owned(), email: email.to_owned(), errors };
    let cookie = state.auth.cookie(LOGIN_CSRF_COOKIE, pre_session);
    Ok((status, [(header::SET_COOKIE, cookie.to_string())], Html(page.render()?)).into_response())
}

pub async fn login_form(
    State(state): State<AppState>,
    auth: Auth,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<NextQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(q.suite.as_deref());
    if auth.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    login_page(&state, &next, "", FormErrors::new(), StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The login form's own token (double submit with its cookie): no session exists yet.
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    suite: String,
}

pub async fn login(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(Some(&form.suite));
    let cookie = cookie_value(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let expected = if cookie.is_empty() { String::new() } else { login_form_token(&state, &cookie).await? };
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        let mut errors = FormErrors::new();
        errors.add("", "la page de connexion a expiré : saisissez de nouveau vos identifiants");
        return login_page(&state, &next, &form.email, errors, StatusCode::FORBIDDEN).await;
    }
    let mut errors = FormErrors::new();
    if form.email.trim().is_empty() {
        errors.add("email", "saisissez votre adresse électronique");
    }
    if form.password.is_empty() {
        errors.add("password", "saisissez votre mot de passe");
    }
    if !errors.is_empty() {
        return login_page(&state, &next, &form.email, errors, StatusCode::BAD_REQUEST).await;
    }
    let now = Utc::now();
    match state.store.verify_login(&form.email, &form.password, &auth.address, now).await? {
        Ok(user) => {
            // The session this browser had before, whoever it was for, ends with the new login.
            if let Some(previous) = cookie_value(&headers, SESSION_COOKIE) {
                state.store.end_session(&previous).await?;
            }
            let (secret, _csrf) = state.store.create_session(user.id, now, state.auth.absolute).await?;
            let session = state.auth.cookie(SESSION_COOKIE, secret);
            let clear = state.auth.removal(LOGIN_CSRF_COOKIE);
            let target = if user.must_change_password { "/compte?changer=1".to_owned() } else { next };
            let mut response = Redirect::to(&target).into_response();
            for c in [session, clear] {
                if let Ok(v) = c.to_string().parse() {
                    response.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            tracing::info!(user = user.id, "login");
            Ok(response)
        }
        Err(LoginError::BadCredentials) => {
            errors.add("", "adresse électronique ou mot de passe incorrect");
            login_page(&state, &next, &form.email, errors, StatusCode::UNAUTHORIZED).await
        }
        Err(LoginError::Throttled { until }) => {
            errors.add("", format!("trop de tentatives de connexion : réessayez {}", wait_text(until, now)));
            let mut r = login_page(&state, &next, &form.email, errors, StatusCode::TOO_MANY_REQUESTS).await?;
            if let Ok(v) = (until - now).num_seconds().max(1).to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(r)
        }
    }
}

/// « dans 4 secondes », « après le 07/12/2026 à 03:15 (dans 15 minutes) ».
fn wait_text(until: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> String {
    let seconds = (until - now).num_seconds().max(1);
    if seconds < 60 {
        return format!("dans {seconds} seconde{}", if seconds > 1 { "s" } else { "" });
    }
    let minutes = (seconds + 59) / 60;
    format!("après le {} (dans {minutes} minute{})", datetime_short(until), if minutes > 1 { "s" } else { "" })
}

/// Ends the session for real: the row is deleted, the cookie cleared.
pub async fn logout(State(state): State<AppState>, auth: Auth) -> Result<Response, PageError> {
    if let Some(secret) = &auth.session_secret {
        state.store.end_session(secret).await?;
    }
    let clear = state.auth.removal(SESSION_COOKIE);
    Ok(([(header::SET_COOKIE, clear.to_string())], Redirect::to("/")).into_response())
}

struct TokenLine {
    id: i64,
    name: String,
    prefix: String,
    rights: &'static str,
    created: String,
    last_used: String,
    revoked: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
    name: String,
    email: String,
    must_change: bool,
    tokens: Vec<TokenLine>,
    new_token: String,
    notice: String,
    errors: FormErrors,
    /// Each kind of reminder, with the frequency chosen.
    reminders: Vec<ReminderLine>,
    mail_configured: bool,
    not_configured: &'static str,
}

struct ReminderLine {
    code: &'static str,
    label: &'static str,
    choices: Vec<(&'static str, &'static str, bool)>,
}

async fn account_page(
    state: &AppState,
    auth: &Auth,
    new_token: String,
    notice: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let user = auth.user.as_ref().ok_or(WebError::LoginRequired)?;
    let user = state.store.user(user.id).await?;
    let tokens = state
        .store
        .tokens(user.id)
        .await?
        .into_iter()
        .map(|t| TokenLine {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            rights: if t.can_write { "lecture et écriture" } else { "lecture seule" },
            created: datetime_short(t.created_at),
            last_used: t.last_used_at.map(datetime_short).unwrap_or_else(|| "jamais".into()),
            revoked: t.revoked_at.map(datetime_short).unwrap_or_default(),
        })
        .collect();
    let reminders = state
        .store
        .mail_preferences(user.id)
        .await?
        .into_iter()
        .map(|(kind, chosen)| ReminderLine {
            code: kind.code(),
            label: kind.label(),
            choices: Frequency::ALL.into_iter().map(|f| (f.code(), f.label(), f == chosen)).collect(),
        })
        .collect();
    let page = AccountPage {
        nav: Nav::of(auth),
        name: user.name.clone(),
        email: user.email.clone(),
        must_change: user.must_change_password,
        tokens,
        new_token,
        notice: notice.to_owned(),
        errors,
        reminders,
        mail_configured: state.mail.is_configured(),
        not_configured: crate::mail::NOT_CONFIGURED,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn page(State(state): State<AppState>, auth: Auth) -> Result<Response, PageError> {
    state.authorize(&auth, Action::OwnAccount, None).await?;
    account_page(&state, &auth, String::new(), "", FormErrors::new(), StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    PageForm(form): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::OwnAccount, None).await?;
    let user = auth.user.clone().ok_or(WebError::LoginRequired)?;
    let mut errors = FormErrors::new();
    let ok = state.store.verify_login(&user.email, &form.current, &auth.address, Utc::now()).await?;
    match ok {
        Ok(_) => {}
        Err(LoginError::BadCredentials) => errors.add("current", "le mot de passe actuel est incorrect"),
        Err(LoginError::Throttled { until }) => {
            errors.add("current", format!("trop de tentatives : réessayez {}", wait_text(until, Utc::now())));
        }
    }
    if form.new_password != form.confirm {
        errors.add("confirm", "les deux saisies du nouveau mot de passe diffèrent");
    }
    if form.new_password == form.current && !form.current.is_empty() {
        errors.add("new_password", "le nouveau mot de passe doit différer de l'actuel");
    }
    if let Err(why) = ctg_domain::access::check_password(&form.new_password, &user.email, &user.name) {
        errors.add("new_password", why);
    }
    if !errors.is_empty() {
        return account_page(&state, &auth, String::new(), "", errors, StatusCode::BAD_REQUEST).await;
    }
    state.store.set_password(&auth.actor(Channel::Page), user.id, &form.new_password, false).await?;
    // Every session of the user ended with the change; this one starts again.
    let (secret, _) = state.store.create_session(user.id, Utc::now(), state.auth.absolute).await?;
    let cookie = state.auth.cookie(SESSION_COOKIE, secret);
    Ok(([(header::SET_COOKIE, cookie.to_string())], Redirect::to("/compte")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    write: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    PageForm(form): PageForm<TokenForm>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::OwnAccount, None).await?;
    let user = auth.user.clone().ok_or(WebError::LoginRequired)?;
    if user.must_change_password {
        return Err(WebError::MustChangePassword.into());
    }
    if form.name.trim().is_empty() {
        let mut errors = FormErrors::new();
        errors.add("token_name", "donnez un nom au jeton, pour le reconnaître plus tard");
        return account_page(&state, &auth, String::new(), "", errors, StatusCode::BAD_REQUEST).await;
    }
    let (_, secret) =
        state.store.create_token(&auth.actor(Channel::Page), user.id, &form.name, form.write.is_some()).await?;
    account_page(&state, &auth, secret, "", FormErrors::new(), StatusCode::OK).await
}

pub async fn revoke_token(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::OwnAccount, None).await?;
    let user = auth.user.clone().ok_or(WebError::LoginRequired)?;
    state.store.revoke_token(&auth.actor(Channel::Page), user.id, id).await?;
    account_page(
        &state,
        &auth,
        String::new(),
        "Le jeton est révoqué : il ne donne plus accès à rien.",
        FormErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /compte/rappels`: the frequency of each kind of reminder (`immediat`, `hebdomadaire`,
/// `jamais`), all saved at once. A kind missing from the form is refused, not reset.
pub async fn save_reminders(
    State(state): State<AppState>,
    auth: Auth,
    PageForm(form): PageForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::OwnAccount, None).await?;
    let user = auth.user.clone().ok_or(WebError::LoginRequired)?;
    let mut choices = Vec::new();
    let mut errors = FormErrors::new();
    for kind in ReminderKind::ALL {
        match form.get(kind.code()).map(String::as_str).map(Frequency::parse) {
            Some(Some(f)) => choices.push((kind, f)),
            Some(None) => errors.add(
                kind.code(),
                format!(
                    "rappels « {} » : fréquence inconnue (dès qu'il y a lieu, chaque semaine ou jamais)",
                    kind.label()
                ),
            ),
            None => errors.add(kind.code(), format!("rappels « {} » : choisissez une fréquence", kind.label())),
        }
    }
    if !errors.is_empty() {
        return account_page(&state, &auth, String::new(), "", errors, StatusCode::BAD_REQUEST).await;
    }
    state.store.set_mail_preferences(user.id, &choices).await?;
    Ok(crate::flash::redirect("/compte#rappels", "Vos choix de rappels sont enregistrés"))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn logins_only_lead_back_into_this_site() {
        assert_eq!(safe_next(Some("/conventions/2")), "/conventions/2");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/tableau-de-bord", "after logging in, one's dashboard");
        assert_eq!(safe_next(Some("/\t/evil.example/phish")), "/");
        assert_eq!(safe_next(Some("/\r/evil.example/phish")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/\u{a0}/evil.example")), "/");
        assert_eq!(safe_next(Some("/a\\b")), "/");
        assert_eq!(safe_next(Some("")), "/tableau-de-bord");
        assert_eq!(safe_next(Some("evil.example")), "/");
        assert_eq!(safe_next(Some("/compte?changer=1")), "/compte?changer=1");
    }
}
