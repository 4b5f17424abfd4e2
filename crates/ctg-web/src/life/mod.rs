//! The life of a convention on pages (arts. 11 to 13): its status and the next date that matters,
//! the parties' signatures, the avenants and their signatures, the versions of its text and annexes
//! with the difference between two of them, and its termination.

pub mod api;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use ctg_domain::access::Action;
use ctg_domain::documents::Owner;
use ctg_domain::life::{diff_lines, AvenantChange, ChangeTarget, DiffLine, NoticeOutcome, SignedOn, TerminationGround};
use ctg_domain::Channel;
use ctg_store::{ConventionLife, NewAvenant, StoreError, Termination};
use serde::Deserialize;

use crate::auth::Auth;
use crate::documents::DocumentLine;
use crate::extract::{Ids, PageForm};
use crate::views::{form_date, FormErrors, Nav};
use crate::{AppState, PageError, WebError};

fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

pub(crate) struct PartyLine {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub signed: String,
    pub deliberation: String,
    pub can_sign: bool,
}

pub(crate) struct AvenantLine {
    pub id: i64,
    pub number: i64,
    pub date: String,
    pub title: String,
    pub in_force: String,
    pub changes: Vec<(String, String, String)>,
    /// (party id, organisation, date signed, may sign now)
    pub signatures: Vec<(i64, String, String, bool)>,
    pub documents: Vec<DocumentLine>,
}

/// A mise en demeure as its table shows it.
pub struct NoticeLine {
    pub id: i64,
    pub version: i64,
    pub from_to: String,
    pub obligation: String,
    pub sent_on: String,
    pub deadline: String,
    pub outcome: String,
    pub pending: bool,
}

#[derive(Template)]
#[template(path = "life.html")]
struct LifePage {
    nav: Nav,
    id: i64,
    title: String,
    status: String,
    status_code: &'static str,
    detail: String,
    in_force_from: String,
    end: String,
    commitments_end: String,
    milestone: String,
    parties: Vec<PartyLine>,
    avenants: Vec<AvenantLine>,
    termination: Option<(String, String, String, String, String)>,
    notices: Vec<NoticeLine>,
    outcomes: Vec<(String, String)>,
    texts: Vec<(String, String, i64, String, String)>,
    can_edit: bool,
    can_documents: bool,
    grounds: Vec<(String, String)>,
    party_options: Vec<(String, String)>,
    targets: Vec<(String, String)>,
    errors: FormErrors,
    today: String,
}

async fn page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let life: ConventionLife = state.store.life(id, state.today()).await?;
    let can_edit = state.may(auth, Action::EditConvention, Some(id)).await;
    let can_documents = state.may(auth, Action::ViewDocuments, Some(id)).await;
    let mut parties = Vec::new();
    for p in &life.parties {
        let can_sign = state.may(auth, Action::EditParty { organisation_id: p.organisation_id }, Some(id)).await;
        parties.push(PartyLine {
            id: p.id,
            name: p.party.organisation.name.clone(),
            role: p.party.role.label().to_owned(),
            signed: p.party.signed_on().map(|s| s.label()).unwrap_or_default(),
            deliberation: match (&p.party.deliberation, p.party.deliberation_date) {
                (Some(d), Some(dd)) => format!("{d} du {}", date(dd)),
                (Some(d), None) => d.clone(),
                _ => String::new(),
            },
            // A party that has signed does not sign again (the store refuses it too).
            can_sign: can_sign && p.party.signature_date.is_none(),
        });
    }
    let mut avenants = Vec::new();
    for a in &life.avenants {
        let mut signatures = Vec::new();
        for s in &a.signatures {
            let org = life.parties.iter().find(|p| p.id == s.party_id).map(|p| p.organisation_id);
            let may = match org {
                Some(o) => {
                    s.date.is_none() && state.may(auth, Action::EditParty { organisation_id: o }, Some(id)).await
                }
                None => false,
            };
            signatures.push((s.party_id, s.organisation.clone(), s.date.map(date).unwrap_or_default(), may));
        }
        avenants.push(AvenantLine {
            id: a.id,
            number: a.number,
            date: date(a.date),
            title: ctg_domain::life::avenant_subject(a.number, &a.title),
            in_force: a
                .in_force_from
                .map_or_else(|| "en attente de signatures".to_owned(), |d| format!("en vigueur depuis le {}", date(d))),
            changes: a
                .changes
                .iter()
                .map(|c| {
                    // An end date is shown as people write it.
                    let shown = |s: &str| match c.target {
                        ChangeTarget::EndDate => ctg_domain::parse::date("date", s).map_or_else(|_| s.to_owned(), date),
                        _ => s.to_owned(),
                    };
                    (c.target.label(), shown(&c.before), shown(&c.after))
                })
                .collect(),
            signatures,
            documents: if can_documents {
                state.store.documents(id, Owner::Avenant(a.id)).await?.iter().map(DocumentLine::of).collect()
            } else {
                Vec::new()
            },
        });
    }
    let page = LifePage {
        nav: Nav::of(auth),
        id,
        title: life.title.clone(),
        status: life.status.label(),
        status_code: life.status.code(),
        detail: life.status.detail().unwrap_or_default(),
        in_force_from: life.in_force_from.map(date).unwrap_or_default(),
        end: date(life.end),
        commitments_end: date(life.commitments_end),
        milestone: life.next_milestone.as_ref().map(|(d, what)| format!("{} : {what}", date(*d))).unwrap_or_default(),
        parties,
        avenants,
        termination: life.termination.as_ref().map(|t| {
            (
                t.ground.label().to_owned(),
                date(t.notice_date),
                date(t.effective_date),
                t.party_name.clone(),
                t.note.clone().unwrap_or_default(),
            )
        }),
        notices: state
            .store
            .formal_notices(id)
            .await?
            .into_iter()
            .map(|n| NoticeLine {
                id: n.id,
                version: n.version,
                from_to: format!("{} → {}", n.sender, n.recipient),
                obligation: if n.legal {
                    format!("{} (obligation légale ou réglementaire)", n.obligation)
                } else {
                    n.obligation
                },
                sent_on: date(n.sent_on),
                deadline: date(n.deadline),
                outcome: match n.outcome_on {
                    Some(on) => format!("{} le {}", n.outcome.label(), date(on)),
                    None => n.outcome.label().to_owned(),
                },
                pending: n.outcome == NoticeOutcome::Pending,
            })
            .collect(),
        outcomes: [NoticeOutcome::Complied, NoticeOutcome::Unfruitful, NoticeOutcome::Withdrawn]
            .iter()
            .map(|o| (o.code().to_owned(), o.label().to_owned()))
            .collect(),
        texts: life
            .documents
            .iter()
            .map(|d| {
                (
                    d.key.clone(),
                    d.label.clone(),
                    d.versions,
                    d.current.map(|v| v.to_string()).unwrap_or_else(|| "—".into()),
                    d.pending.map(|v| format!("version {v} en attente de signatures")).unwrap_or_default(),
                )
            })
            .collect(),
        can_edit,
        can_documents,
        grounds: TerminationGround::ALL.iter().map(|g| (g.code().to_owned(), g.label().to_owned())).collect(),
        party_options: life.parties.iter().map(|p| (p.id.to_string(), p.party.organisation.name.clone())).collect(),
        targets: [
            ("texte", "Texte de la convention"),
            ("annexe", "Une annexe"),
            ("date_fin", "Date de fin"),
            ("partie", "Le signataire d'une partie"),
            ("ambition", "Une ambition (ajoutée ou reformulée)"),
            ("autre", "Autre"),
        ]
        .iter()
        .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
        .collect(),
        errors,
        today: state.today().to_string(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn life(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    page(&state, &auth, id, FormErrors::new(), StatusCode::OK).await
}

/// Runs a write and shows the page again with its refusal, or goes back to the page.
async fn done(
    state: &AppState,
    auth: &Auth,
    id: i64,
    result: Result<(), StoreError>,
    message: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(crate::flash::redirect(&format!("/conventions/{id}/vie"), message)),
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            page(state, auth, id, errors, StatusCode::BAD_REQUEST).await
        }
        Err(StoreError::Stale { what, last_change }) => {
            let mut errors = FormErrors::new();
            errors.add("", crate::error::stale_message(&what, last_change.as_deref()));
            page(state, auth, id, errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

pub(crate) async fn party_org(state: &AppState, id: i64, party: i64) -> Result<i64, WebError> {
    let c = state.store.convention(id).await?;
    c.parties
        .iter()
        .find(|p| p.id == party)
        .map(|p| p.organisation_id)
        .ok_or_else(|| WebError::NotFound(format!("la partie n° {party} n'existe pas dans cette convention")))
}

fn form_errors(message: String) -> FormErrors {
    let mut e = FormErrors::new();
    e.add("", message);
    e
}

#[derive(Debug, Default, Deserialize)]
pub struct SignFields {
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub deliberation: String,
    #[serde(default)]
    pub deliberation_date: String,
}

/// A party signs the convention, with the deliberation that authorises it.
pub async fn sign_party(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party)): Ids<(i64, i64)>,
    PageForm(form): PageForm<SignFields>,
) -> Result<Response, PageError> {
    let org = party_org(&state, id, party).await?;
    state.authorize_write(&auth, Action::EditParty { organisation_id: org }, Some(id)).await?;
    let mut errors = FormErrors::new();
    let signed = SignedOn::parse("date", &form.date).map_err(|e| errors.add("date", e.message)).ok();
    let deliberated = if form.deliberation_date.trim().is_empty() {
        None
    } else {
        form_date(&mut errors, "deliberation_date", &form.deliberation_date)
    };
    let (Some(signed), true) = (signed, errors.is_empty()) else {
        return page(&state, &auth, id, errors, StatusCode::BAD_REQUEST).await;
    };
    let deliberation = Some(form.deliberation.trim()).filter(|d| !d.is_empty());
    let r = state.store.sign_party(&auth.actor(Channel::Page), id, party, signed, deliberation, deliberated).await;
    done(&state, &auth, id, r.map(|_| ()), "Signature enregistrée").await
}

#[derive(Debug, Default, Deserialize)]
pub struct AvenantFields {
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub target1: String,
    #[serde(default)]
    pub annex1: String,
    #[serde(default)]
    pub name1: String,
    #[serde(default)]
    pub before1: String,
    #[serde(default)]
    pub after1: String,
    #[serde(default)]
    pub target2: String,
    #[serde(default)]
    pub annex2: String,
    #[serde(default)]
    pub name2: String,
    #[serde(default)]
    pub before2: String,
    #[serde(default)]
    pub after2: String,
}

/// Records an avenant (not in force until every party has signed it).
pub async fn avenant_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<AvenantFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let mut errors = FormErrors::new();
    let day = form_date(&mut errors, "date", &form.date);
    let mut changes = Vec::new();
    for (target, annex, name, before, after) in [
        (&form.target1, &form.annex1, &form.name1, &form.before1, &form.after1),
        (&form.target2, &form.annex2, &form.name2, &form.before2, &form.after2),
    ] {
        if target.trim().is_empty() || (before.trim().is_empty() && after.trim().is_empty()) {
            continue;
        }
        let annex = annex.trim().parse::<i64>().ok();
        match ChangeTarget::from_parts(target.trim(), annex, name.trim()) {
            Ok(t) => changes.push(AvenantChange { target: t, before: before.clone(), after: after.clone() }),
            Err(e) => errors.add("", e.to_string()),
        }
    }
    let Some(day) = day.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.add("", "la date de l'avenant est obligatoire");
        }
        return page(&state, &auth, id, errors, StatusCode::BAD_REQUEST).await;
    };
    let new = NewAvenant { date: day, title: form.title.trim().to_owned(), changes };
    let r = state.store.create_avenant(&auth.actor(Channel::Page), id, &new).await;
    done(&state, &auth, id, r.map(|_| ()), "Avenant créé").await
}

#[derive(Debug, Default, Deserialize)]
pub struct DateFields {
    #[serde(default)]
    pub date: String,
}

/// A party signs an avenant.
pub async fn avenant_sign(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, avenant, party)): Ids<(i64, i64, i64)>,
    PageForm(form): PageForm<DateFields>,
) -> Result<Response, PageError> {
    let org = party_org(&state, id, party).await?;
    state.authorize_write(&auth, Action::EditParty { organisation_id: org }, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(day) = form_date(&mut errors, "date", &form.date) else {
        return page(
            &state,
            &auth,
            id,
            form_errors("la date de signature est obligatoire".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let r = state.store.sign_avenant(&auth.actor(Channel::Page), id, avenant, party, day).await;
    done(&state, &auth, id, r.map(|_| ()), "Signature de l'avenant enregistrée").await
}

#[derive(Debug, Default, Deserialize)]
pub struct TerminationFields {
    #[serde(default)]
    pub ground: String,
    #[serde(default)]
    pub notice_date: String,
    #[serde(default)]
    pub party: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeFields {
    #[serde(default)]
    pub sender: String,
    #[serde(default)]
    pub recipient: String,
    #[serde(default)]
    pub obligation: String,
    #[serde(default)]
    pub legal: Option<String>,
    #[serde(default)]
    pub sent_on: String,
}

/// Records a mise en demeure (art. 13).
pub async fn notice_send(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<NoticeFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let mut errors = FormErrors::new();
    let sent_on = form_date(&mut errors, "sent_on", &form.sent_on);
    let party = |raw: &str, field: &'static str, errors: &mut FormErrors| {
        raw.trim().parse::<i64>().map_err(|_| errors.add(field, "choisissez la partie")).ok()
    };
    let sender = party(&form.sender, "sender", &mut errors);
    let recipient = party(&form.recipient, "recipient", &mut errors);
    let (Some(sent_on), Some(sender), Some(recipient), true) = (sent_on, sender, recipient, errors.is_empty()) else {
        if errors.is_empty() {
            errors.add("sent_on", "la date d'envoi est obligatoire");
        }
        return page(&state, &auth, id, errors, StatusCode::BAD_REQUEST).await;
    };
    let new = ctg_store::NewFormalNotice {
        sender_party_id: sender,
        recipient_party_id: recipient,
        obligation: form.obligation.clone(),
        legal: form.legal.is_some(),
        sent_on,
    };
    let r = state.store.send_formal_notice(&auth.actor(Channel::Page), id, &new).await;
    done(&state, &auth, id, r.map(|_| ()), "Mise en demeure enregistrée").await
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeOutcomeFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub on: String,
}

/// Settles a mise en demeure: complied with, withdrawn, or left without effect (which terminates the
/// convention at its deadline).
pub async fn notice_settle(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, notice)): Ids<(i64, i64)>,
    PageForm(form): PageForm<NoticeOutcomeFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let mut errors = FormErrors::new();
    let on = form_date(&mut errors, "on", &form.on);
    let outcome = NoticeOutcome::parse(&form.outcome).map_err(|e| errors.add("outcome", e.to_string())).ok();
    let version = crate::extract::Version::parse(&form.version)?;
    let (Some(on), Some(outcome), true) = (on, outcome, errors.is_empty()) else {
        return page(&state, &auth, id, errors, StatusCode::BAD_REQUEST).await;
    };
    let r = state.store.settle_formal_notice(&auth.actor(Channel::Page), id, (notice, version), outcome, on).await;
    done(&state, &auth, id, r.map(|_| ()), "Mise en demeure mise à jour").await
}

/// Records the termination of the convention under art. 13.
pub async fn terminate(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<TerminationFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let mut errors = FormErrors::new();
    let notice = form_date(&mut errors, "notice_date", &form.notice_date);
    let ground = TerminationGround::parse(&form.ground).map_err(|e| errors.add("ground", e.to_string())).ok();
    let party = form.party.trim().parse::<i64>().map_err(|_| errors.add("party", "choisissez la partie qui agit")).ok();
    let (Some(notice), Some(ground), Some(party)) = (notice, ground, party) else {
        if errors.is_empty() {
            errors.add("notice_date", "la date de la notification est obligatoire");
        }
        return page(&state, &auth, id, errors, StatusCode::BAD_REQUEST).await;
    };
    let t = Termination {
        ground,
        notice_date: notice,
        party_id: party,
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    let r = state.store.terminate(&auth.actor(Channel::Page), id, &t).await;
    done(&state, &auth, id, r.map(|_| ()), "Résiliation enregistrée").await
}

#[derive(Debug, Default, Deserialize)]
pub struct TextFields {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub content: String,
}

/// Records the signed text of the convention or of an annex, as its first version.
pub async fn initial_text(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<TextFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let key = match form.key.trim() {
        "" => ctg_domain::life::CONVENTION_TEXT.to_owned(),
        k => k.to_owned(),
    };
    let r = state.store.set_initial_text(&auth.actor(Channel::Page), id, &key, &form.content).await;
    done(&state, &auth, id, r.map(|_| ()), "Texte de la convention enregistré").await
}

#[derive(Debug, Default, Deserialize)]
pub struct DiffQuery {
    #[serde(default)]
    pub de: Option<i64>,
    #[serde(default)]
    pub a: Option<i64>,
}

#[derive(Template)]
#[template(path = "life_text.html")]
struct TextPage {
    nav: Nav,
    id: i64,
    title: String,
    key: String,
    label: String,
    versions: Vec<(i64, String, String, String)>,
    from: i64,
    to: i64,
    /// (kind: same / added / removed, line)
    diff: Vec<(&'static str, String)>,
    content: String,
}

/// A text (the convention's or an annex's): its versions, and the difference between two of them.
pub async fn text(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, key)): Ids<(i64, String)>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<DiffQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let versions = state.store.text_versions(id, &key).await?;
    let summary = state.store.convention_summary(id).await?;
    if versions.is_empty() {
        return Err(WebError::NotFound(format!("le texte « {key} » n'existe pas dans cette convention")).into());
    }
    let last = versions.iter().map(|v| v.version).max().unwrap_or(1);
    let to = q.a.unwrap_or(last);
    let from = q.de.unwrap_or((to - 1).max(1));
    let find = |n: i64| {
        versions
            .iter()
            .find(|v| v.version == n)
            .ok_or_else(|| WebError::NotFound(format!("la version {n} de ce texte")))
    };
    let (a, b) = (find(from)?, find(to)?);
    let diff = diff_lines(&a.content, &b.content)
        .into_iter()
        .map(|d| match d {
            DiffLine::Same(l) => ("meme", l),
            DiffLine::Added(l) => ("ajout", l),
            DiffLine::Removed(l) => ("retrait", l),
        })
        .collect();
    let page = TextPage {
        nav: Nav::of(&auth),
        id,
        title: summary.title,
        label: b.label.clone(),
        key,
        versions: versions
            .iter()
            .map(|v| {
                (
                    v.version,
                    date(v.dated),
                    v.avenant_number.map_or_else(|| "texte signé".to_owned(), |n| format!("avenant n° {n}")),
                    v.state.label().to_owned(),
                )
            })
            .collect(),
        from,
        to,
        diff,
        content: b.content.clone(),
    };
    Ok(Html(page.render()?).into_response())
}

/// Attaches a document (the signed copy…) to an avenant.
pub async fn avenant_upload(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, avenant)): Ids<(i64, i64)>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    if !state.store.avenants(id).await?.iter().any(|a| a.id == avenant) {
        return Err(WebError::NotFound(format!("l'avenant n° {avenant} n'existe pas dans cette convention")).into());
    }
    let (name, bytes) = crate::documents::read_upload(multipart, "document", "choisissez un fichier").await?;
    match state.store.add_document(&auth.actor(Channel::Page), id, Owner::Avenant(avenant), &name, &bytes).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/vie#avenant-{avenant}"),
            "Document joint à l'avenant",
        )),
        Err(StoreError::Invalid(m)) => Err(WebError::BadRequest(m).into()),
        Err(e) => Err(WebError::from(e).into()),
    }
}
