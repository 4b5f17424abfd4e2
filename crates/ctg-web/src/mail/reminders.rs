//! The scan for due reminders: what the dashboard shows (late fiches, missing values, next
//! meetings, decisions due, pending signatures; `crate::dashboard` and the store functions it
//! calls), plus the exchange agreements that end within 60 days, turned into mails for the people
//! concerned and written to the outbox, or kept for their weekly digest, as each person chose.

use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use ctg_domain::access::Role;
use ctg_domain::format::date_short;
use ctg_domain::plan::{loose, Lateness};
use ctg_domain::reminders::{agreement_ending, meeting_reminder, week_of, Frequency, ReminderKind as K};
use ctg_store::{random_secret, NewMail, User};

use crate::dashboard::{decision_detail, decisions_due, my_pilot_organisations, pending_signatures, pilots};
use crate::plan::PlanView;
use crate::{AppState, WebError};

/// A reminder found by the scan, for its recipients.
struct Reminder {
    kind: K,
    /// The object and its due date: with the kind and the recipient, the key of the mail.
    key: String,
    convention: String,
    text: String,
    detail: String,
    link: String,
    ics: Option<(String, String)>,
    /// When (for a meeting: « dans 7 jours », « demain »).
    when: String,
    recipients: Vec<User>,
}

/// Looks for the reminders due today and writes them to the outbox (or to the weekly digests),
/// each once whatever the number of servers scanning; then writes the weekly digests due this
/// week. Returns how many mails and digest items were written. Does nothing when mail is not
/// configured.
pub async fn scan(state: &AppState, now: DateTime<Utc>) -> Result<usize, WebError> {
    if !state.mail.is_configured() {
        return Ok(0);
    }
    let today = state.today();
    let mut found = Vec::new();
    for c in state.store.conventions().await? {
        let members: Vec<ctg_store::Member> =
            state.store.members(c.id).await?.into_iter().filter(|m| m.user.is_active()).collect();
        if !members.is_empty() {
            convention_reminders(state, c.id, &members, today, now, &mut found).await?;
        }
    }
    let mut written = 0;
    let mut choices: HashMap<i64, Vec<(K, Frequency)>> = HashMap::new();
    for r in &found {
        for user in &r.recipients {
            if let std::collections::hash_map::Entry::Vacant(e) = choices.entry(user.id) {
                e.insert(state.store.mail_preferences(user.id).await?);
            }
            let frequency = choices[&user.id].iter().find(|(k, _)| *k == r.kind).map(|(_, f)| *f).unwrap_or_default();
            let key = format!("{}:{}:{}", r.kind.code(), user.id, ctg_store::digest(&r.key));
            match frequency {
                Frequency::Never => {}
                Frequency::Weekly => {
                    let text = format!("{} — {}", r.convention, r.text);
                    let link = format!("{}{}", state.mail.base(), r.link);
                    if state.store.add_digest_item(&key, user.id, r.kind, (&text, &r.detail, &link), now).await? {
                        written += 1;
                    }
                }
                Frequency::Immediate => {
                    if state.store.mail_known(&key).await? {
                        continue;
                    }
                    let secret = random_secret();
                    let mail = reminder_mail(state, r, user, key, &secret)?;
                    if state.store.enqueue_mail(&mail, Some(&secret), now).await? {
                        written += 1;
                    }
                }
            }
        }
    }
    written += digests(state, today, now).await?;
    Ok(written)
}

/// The weekly digests: once per ISO week and person, the reminders kept for them.
async fn digests(state: &AppState, today: NaiveDate, now: DateTime<Utc>) -> Result<usize, WebError> {
    let week = week_of(today);
    let mut written = 0;
    for user_id in state.store.digest_recipients().await? {
        let key = format!("{}:{user_id}:{week}", ctg_store::DIGEST_KIND);
        if state.store.mail_known(&key).await? {
            continue;
        }
        let user = state.store.user(user_id).await?;
        if !user.is_active() {
            continue;
        }
        let choices = state.store.mail_preferences(user_id).await?;
        let weekly = |code: &str| {
            K::parse(code).is_some_and(|k| choices.iter().any(|(c, f)| *c == k && *f == Frequency::Weekly))
        };
        let items: Vec<ctg_store::DigestItem> =
            state.store.digest_items(user_id).await?.into_iter().filter(|i| weekly(&i.kind)).collect();
        if items.is_empty() {
            continue;
        }
        let secret = random_secret();
        let base = state.mail.base();
        let lines: Vec<DigestLine> = items
            .iter()
            .map(|i| DigestLine {
                kind: K::parse(&i.kind).map_or("", subject_of).to_owned(),
                text: i.text.clone(),
                detail: i.detail.clone(),
                url: i.link.clone(),
            })
            .collect();
        let count = lines.len();
        let text = DigestText {
            name: &user.name,
            lines: &lines,
            week: &week,
            account_url: format!("{base}/compte#rappels"),
            unsubscribe_url: format!("{base}/desabonnement/{secret}"),
        };
        let mail = NewMail {
            dedup_key: key,
            user_id: Some(user.id),
            recipient: user.email.clone(),
            kind: ctg_store::DIGEST_KIND.to_owned(),
            subject: format!(
                "Récapitulatif CTG de la semaine {week} : {count} rappel{}",
                if count > 1 { "s" } else { "" }
            ),
            body_text: text.render()?,
            body_html: DigestHtml { m: &text }.render()?,
            attachment: None,
        };
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        if state.store.enqueue_digest(&mail, &secret, &ids, now).await? {
            written += 1;
        }
    }
    Ok(written)
}

/// The reminders of one convention for its members (people with a role in it).
async fn convention_reminders(
    state: &AppState,
    id: i64,
    members: &[ctg_store::Member],
    today: NaiveDate,
    now: DateTime<Utc>,
    out: &mut Vec<Reminder>,
) -> Result<(), WebError> {
    let v = PlanView::load(state, id).await?;
    let title = v.convention.title.clone();
    let base = format!("/conventions/{id}");
    // To the pilots: late fiches and sub-actions, indicators without last year's value.
    let mut pilot_of = Vec::with_capacity(members.len());
    for m in members {
        pilot_of.push((&m.user, my_pilot_organisations(state, &m.user, &v.plan.fiches).await));
    }
    for item in v.late_items() {
        let Some(fiche) = item.fiche else { continue };
        let (kind, key) = match &item.lateness {
            Lateness::PastEnd { what, end } => (K::LateFiche, format!("{}|{what}|{end}", item.link)),
            Lateness::MissingValue { year, .. } if *year == today.year() - 1 => {
                (K::MissingValue, format!("{}|{year}", item.link))
            }
            _ => continue,
        };
        let recipients: Vec<User> =
            pilot_of.iter().filter(|(u, orgs)| pilots(fiche, u, orgs)).map(|(u, _)| (*u).clone()).collect();
        if recipients.is_empty() {
            continue;
        }
        let (text, detail) = crate::plan::lateness_text(&item.lateness);
        out.push(Reminder {
            kind,
            key,
            convention: title.clone(),
            text,
            detail: format!("{detail} · fiche {} : {}", fiche.fiche.code, fiche.fiche.title),
            link: item.link.clone(),
            ics: None,
            when: String::new(),
            recipients,
        });
    }
    // To the members of a body: its meetings, a week and a day before, with their .ics.
    let bodies = state.store.bodies(id).await?;
    for m in state.store.meetings(id).await? {
        let Some(step) = meeting_reminder(m.data.date, today) else { continue };
        let Some(body) = bodies.iter().find(|b| b.id == m.body_id) else { continue };
        let names: Vec<String> = body.current_members(m.data.date).iter().map(|b| loose(&b.data.name)).collect();
        let recipients: Vec<User> =
            members.iter().filter(|p| names.contains(&loose(&p.user.name))).map(|p| p.user.clone()).collect();
        if recipients.is_empty() {
            continue;
        }
        let when = match (m.data.date - today).num_days() {
            0 => "aujourd'hui".to_owned(),
            1 => "demain".to_owned(),
            d => format!("dans {d} jours"),
        };
        let name = m.data.title.clone().map_or_else(|| body.body.name.clone(), |t| format!("{} : {t}", body.body.name));
        out.push(Reminder {
            kind: K::Meeting,
            key: format!("{}|J-{step}|{}|{}", m.id, m.data.date, m.data.start),
            convention: title.clone(),
            text: format!("{name}, le {} à {}", date_short(m.data.date), m.data.start.format("%H h %M")),
            detail: m.data.place.as_deref().map_or_else(|| "lieu non renseigné".to_owned(), |p| format!("lieu : {p}")),
            link: format!("{base}/seances/{}", m.id),
            ics: Some((
                format!("seance-{}.ics", m.id),
                ctg_domain::governance::icalendar(&body.body.name, std::slice::from_ref(&m), now),
            )),
            when,
            recipients,
        });
    }
    // To the coordination: decisions due, signatures pending, exchange agreements ending.
    let coordination: Vec<User> =
        members.iter().filter(|m| m.role == Role::Coordination).map(|m| m.user.clone()).collect();
    if coordination.is_empty() {
        return Ok(());
    }
    let mut coordinate = |kind: K, key: String, text: String, detail: String, link: String| {
        out.push(Reminder {
            kind,
            key,
            convention: title.clone(),
            text,
            detail,
            link,
            ics: None,
            when: String::new(),
            recipients: coordination.clone(),
        });
    };
    for d in decisions_due(state, id, today).await? {
        let due = d.decision.data.due.map_or_else(String::new, |e| e.to_string());
        coordinate(
            K::DecisionDue,
            format!("{}|{due}", d.decision.id),
            d.decision.data.text.chars().take(140).collect(),
            decision_detail(&d),
            format!("{base}/seances/{}#decisions", d.meeting_id),
        );
    }
    let life = state.store.life(id, today).await?;
    for (key, item) in pending_signatures(id, &life) {
        coordinate(K::PendingSignature, key, item.text, item.detail, item.href);
    }
    for a in state.store.agreements(id).await? {
        if a.status == "signe" && agreement_ending(a.end_date, today) {
            let Some(end) = a.end_date else { continue };
            coordinate(
                K::AgreementEnding,
                format!("{}|{end}", a.id),
                format!("Accord d'échange de données : {}", a.title),
                format!("prend fin le {} (dans {} jours)", date_short(end), (end - today).num_days()),
                format!("{base}/accords"),
            );
        }
    }
    Ok(())
}

/// The subject's first words for a kind.
fn subject_of(kind: K) -> &'static str {
    match kind {
        K::LateFiche => "Fiche en retard",
        K::MissingValue => "Valeur d'indicateur attendue",
        K::Meeting => "Séance",
        K::DecisionDue => "Décision à échéance",
        K::PendingSignature => "Signature en attente",
        K::AgreementEnding => "Accord d'échange qui prend fin",
    }
}

/// Why this person receives it, and what it is about.
fn intro_of(kind: K) -> &'static str {
    match kind {
        K::LateFiche => "Une fiche action que vous pilotez a dépassé sa date de fin sans être réalisée.",
        K::MissingValue => "Un indicateur d'une fiche que vous pilotez attend sa valeur de l'année passée.",
        K::Meeting => {
            "Une séance d'une instance dont vous êtes membre approche. L'invitation est jointe : ouvrez le fichier .ics pour l'ajouter à votre agenda."
        }
        K::DecisionDue => "Une décision d'une instance arrive à échéance (vous coordonnez cette convention).",
        K::PendingSignature => "Une signature est toujours attendue (vous coordonnez cette convention).",
        K::AgreementEnding => {
            "Un accord d'échange de données prend fin dans moins de 60 jours (vous coordonnez cette convention)."
        }
    }
}

#[derive(Template)]
#[template(path = "mail/reminder.txt")]
struct ReminderText<'a> {
    name: &'a str,
    intro: &'a str,
    convention: &'a str,
    text: &'a str,
    detail: &'a str,
    when: &'a str,
    url: String,
    kind_label: &'a str,
    account_url: String,
    unsubscribe_url: String,
}

#[derive(Template)]
#[template(path = "mail/reminder.html")]
struct ReminderHtml<'a, 'b> {
    m: &'b ReminderText<'a>,
}

struct DigestLine {
    kind: String,
    text: String,
    detail: String,
    url: String,
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    name: &'a str,
    lines: &'a [DigestLine],
    week: &'a str,
    account_url: String,
    unsubscribe_url: String,
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a, 'b> {
    m: &'b DigestText<'a>,
}

fn reminder_mail(state: &AppState, r: &Reminder, user: &User, key: String, secret: &str) -> Result<NewMail, WebError> {
    let base = state.mail.base();
    let text = ReminderText {
        name: &user.name,
        intro: intro_of(r.kind),
        convention: &r.convention,
        text: &r.text,
        detail: &r.detail,
        when: &r.when,
        url: format!("{base}{}", r.link),
        kind_label: r.kind.label(),
        account_url: format!("{base}/compte#rappels"),
        unsubscribe_url: format!("{base}/desabonnement/{secret}"),
    };
    let head =
        if r.when.is_empty() { subject_of(r.kind).to_owned() } else { format!("{} {}", subject_of(r.kind), r.when) };
    let subject: String = format!("{head} : {}", r.text).chars().take(180).collect();
    Ok(NewMail {
        dedup_key: key,
        user_id: Some(user.id),
        recipient: user.email.clone(),
        kind: r.kind.code().to_owned(),
        subject,
        body_text: text.render()?,
        body_html: ReminderHtml { m: &text }.render()?,
        attachment: r.ics.clone(),
    })
}
