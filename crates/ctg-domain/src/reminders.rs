//! Reminders by e-mail: their kinds, how often a person wants each, and the dates that decide when
//! one is due (a meeting a week and a day before, an exchange agreement within 60 days of its end,
//! a weekly digest once per ISO week, the backoff of a failed sending).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// What a reminder is about; each person chooses which kinds they receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    /// To a pilot: a fiche or sub-action whose end has passed.
    LateFiche,
    /// To a pilot: an indicator without the value of a year that has ended.
    MissingValue,
    /// To the members of a body: a meeting in a week, then tomorrow, with its `.ics`.
    Meeting,
    /// To the coordination: an open decision whose due date is near or past.
    DecisionDue,
    /// To the coordination: a signature of the convention or of an avenant still pending.
    PendingSignature,
    /// To the coordination: a data-exchange agreement that ends within 60 days.
    AgreementEnding,
}

impl ReminderKind {
    pub const ALL: [Self; 6] = [
        Self::LateFiche,
        Self::MissingValue,
        Self::Meeting,
        Self::DecisionDue,
        Self::PendingSignature,
        Self::AgreementEnding,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::LateFiche => "fiche_en_retard",
            Self::MissingValue => "valeur_manquante",
            Self::Meeting => "seance",
            Self::DecisionDue => "decision",
            Self::PendingSignature => "signature",
            Self::AgreementEnding => "accord_echange",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The name of the kind, as the account page and the unsubscribe page say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::LateFiche => "fiches en retard (pilotes)",
            Self::MissingValue => "indicateurs sans la valeur de l'année passée (pilotes)",
            Self::Meeting => "séances des instances dont vous êtes membre (une semaine et un jour avant)",
            Self::DecisionDue => "décisions arrivées à échéance (coordination)",
            Self::PendingSignature => "signatures et avenants en attente (coordination)",
            Self::AgreementEnding => "accords d'échange de données qui prennent fin dans les 60 jours (coordination)",
        }
    }
}

/// How often a person receives one kind of reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Frequency {
    /// One mail per reminder, as soon as it is due (the default).
    #[default]
    Immediate,
    /// One mail a week gathering the reminders of the week.
    Weekly,
    /// None.
    Never,
}

impl Frequency {
    pub const ALL: [Self; 3] = [Self::Immediate, Self::Weekly, Self::Never];

    pub fn code(self) -> &'static str {
        match self {
            Self::Immediate => "immediat",
            Self::Weekly => "hebdomadaire",
            Self::Never => "jamais",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Immediate => "dès qu'il y a lieu",
            Self::Weekly => "dans un récapitulatif chaque semaine",
            Self::Never => "jamais",
        }
    }
}

/// Which reminder of a meeting on `meeting` is due on `today`: `Some(7)` from seven days before to
/// two days before (« dans une semaine »), `Some(1)` the day before and the day itself, `None`
/// otherwise. A scan missed on the exact day still sends each reminder once (its key names it).
pub fn meeting_reminder(meeting: NaiveDate, today: NaiveDate) -> Option<u8> {
    match (meeting - today).num_days() {
        2..=7 => Some(7),
        0..=1 => Some(1),
        _ => None,
    }
}

/// Days before its end from which an exchange agreement is reminded.
pub const AGREEMENT_NOTICE_DAYS: i64 = 60;

/// Whether an agreement ending on `end` is reminded on `today`: it ends within 60 days.
pub fn agreement_ending(end: Option<NaiveDate>, today: NaiveDate) -> bool {
    end.is_some_and(|e| e >= today && (e - today).num_days() <= AGREEMENT_NOTICE_DAYS)
}

/// The ISO week of `day`, « 2026-S50 »: a weekly digest is sent once per week.
pub fn week_of(day: NaiveDate) -> String {
    let w = day.iso_week();
    format!("{}-S{:02}", w.year(), w.week())
}

/// When to try again after the `attempts`-th failure: `base` (30 s when zero), then twice as long
/// after each further failure, at most six hours apart.
/// After this many failed attempts a mail is abandoned (with the backoff of [`retry_at`] from 30 s,
/// capped at 6 h: about 20 hours of trying). A refusal for good (a 5xx answer) abandons it at once.
pub const MAX_MAIL_ATTEMPTS: i64 = 12;

/// Whether a mail that failed its `attempts`-th attempt is given up: refused for good, or too many
/// attempts.
pub fn gives_up(attempts: i64, permanent: bool) -> bool {
    permanent || attempts >= MAX_MAIL_ATTEMPTS
}

pub fn retry_at(attempts: i64, now: DateTime<Utc>, base: std::time::Duration) -> DateTime<Utc> {
    let base = if base.is_zero() { 30_000 } else { i64::try_from(base.as_millis()).unwrap_or(30_000) };
    let shift = attempts.clamp(1, 20) - 1;
    let millis = base.saturating_mul(1 << shift).min(6 * 3600 * 1000);
    now + Duration::milliseconds(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_is_given_up_when_refused_for_good_or_after_its_last_attempt() {
        assert!(!gives_up(1, false));
        assert!(!gives_up(MAX_MAIL_ATTEMPTS - 1, false));
        assert!(gives_up(MAX_MAIL_ATTEMPTS, false));
        assert!(gives_up(1, true));
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn meetings_are_reminded_a_week_and_a_day_before() {
        let m = d("2026-12-14");
        assert_eq!(meeting_reminder(m, d("2026-12-06")), None);
        assert_eq!(meeting_reminder(m, d("2026-12-07")), Some(7));
        assert_eq!(meeting_reminder(m, d("2026-12-12")), Some(7));
        assert_eq!(meeting_reminder(m, d("2026-12-13")), Some(1));
        assert_eq!(meeting_reminder(m, d("2026-12-14")), Some(1));
        assert_eq!(meeting_reminder(m, d("2026-12-15")), None);
    }

    #[test]
    fn agreements_are_reminded_within_sixty_days_of_their_end() {
        let today = d("2026-12-07");
        assert!(agreement_ending(Some(d("2027-02-05")), today));
        assert!(!agreement_ending(Some(d("2027-02-06")), today));
        assert!(!agreement_ending(Some(d("2026-12-06")), today));
        assert!(!agreement_ending(None, today));
    }

    #[test]
    fn kinds_and_frequencies_read_back_their_codes() {
        for k in ReminderKind::ALL {
            assert_eq!(ReminderKind::parse(k.code()), Some(k));
        }
        for f in Frequency::ALL {
            assert_eq!(Frequency::parse(f.code()), Some(f));
        }
        assert_eq!(week_of(d("2026-12-07")), "2026-S50");
    }

    #[test]
    fn failed_sendings_back_off_exponentially() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().with_timezone(&Utc);
        let zero = std::time::Duration::ZERO;
        assert_eq!((retry_at(1, now, zero) - now).num_seconds(), 30);
        assert_eq!((retry_at(2, now, zero) - now).num_seconds(), 60);
        assert_eq!((retry_at(5, now, zero) - now).num_seconds(), 480);
        assert_eq!((retry_at(30, now, zero) - now).num_seconds(), 6 * 3600);
        let second = std::time::Duration::from_secs(1);
        assert_eq!((retry_at(3, now, second) - now).num_seconds(), 4);
    }
}
