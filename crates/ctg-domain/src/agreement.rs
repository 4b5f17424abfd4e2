//! The data-exchange agreements of art. 9 of the convention (« Échanges de données ») : « en cas de projet
//! d'échanges de données [personnelles] par l'une des parties, [ils] feront obligatoirement l'objet d'un
//! examen préalable de conformité au RGPD par l'autre partie » (the OCR of the signed text is damaged in
//! the middle of the sentence; `FACTS.md` restates it).
//!
//! An agreement moves one step at a time: proposé → revu par le DPD de l'autre partie → signé → expiré.
//! It is created « proposé » by one of its parties; the review is made by the data protection officer of
//! another of its parties; no step can be skipped or taken back.

use serde::{Deserialize, Serialize};

use crate::convention::{coded_enum, ConventionError};

coded_enum! {
    /// The steps of a data-exchange agreement, in order.
    AgreementStep, "étape d'accord" {
        Proposed => "propose", "Proposé";
        Reviewed => "revu_dpd", "Revu par le DPD de l'autre partie";
        Signed => "signe", "Signé";
        Expired => "expire", "Expiré";
    }
}

impl AgreementStep {
    /// The step that follows, if any.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Proposed => Some(Self::Reviewed),
            Self::Reviewed => Some(Self::Signed),
            Self::Signed => Some(Self::Expired),
            Self::Expired => None,
        }
    }

    fn rank(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Whether `step` may be recorded on an agreement now at `current`: only the next step. The refusal, in
/// French, names the step that is missing.
pub fn check_step(current: AgreementStep, step: AgreementStep) -> Result<(), String> {
    if current.next() == Some(step) {
        return Ok(());
    }
    if step == AgreementStep::Proposed {
        return Err("un accord est « Proposé » à sa création : cette étape ne s'enregistre pas ensuite".into());
    }
    if step.rank() <= current.rank() {
        return Err(format!(
            "l'accord est au statut « {} » : l'étape « {} » est déjà passée",
            current.label(),
            step.label()
        ));
    }
    let missing = current.next().map_or("", AgreementStep::label);
    if step == AgreementStep::Signed {
        return Err(format!(
            "l'accord ne peut pas être signé avant l'examen de sa conformité au RGPD par le délégué à la \
             protection des données de l'autre partie (art. 9 de la convention) : étape manquante « {missing} »"
        ));
    }
    Err(format!("l'accord ne peut pas passer à « {} » : étape manquante « {missing} »", step.label()))
}

/// The day a signed agreement reached its end without its expiry being recorded: its end date, once
/// passed on `today`. The expiry stays a step someone records (with who and when); until then the pages
/// say the agreement has lapsed, so that nobody reads it as running.
pub fn lapsed_on(
    step: AgreementStep,
    end: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
) -> Option<chrono::NaiveDate> {
    end.filter(|e| step == AgreementStep::Signed && *e < today)
}

/// The review of art. 9 is made by « l'autre partie »: a party of the agreement that did not propose it.
pub fn check_reviewer(parties: &[i64], proposer: Option<i64>, reviewer: i64) -> Result<(), String> {
    if !parties.contains(&reviewer) {
        return Err("la partie qui revoit l'accord n'en est pas partie : choisissez une des parties de l'accord".into());
    }
    if proposer == Some(reviewer) {
        return Err("la revue est faite par le DPD de l'autre partie (art. 9 de la convention), pas par la partie \
                    qui propose l'échange"
            .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::AgreementStep::*;
    use super::*;

    #[test]
    fn a_signed_agreement_past_its_end_has_lapsed_until_its_expiry_is_recorded() {
        let d = |y, m, j| chrono::NaiveDate::from_ymd_opt(y, m, j).unwrap();
        let end = Some(d(2027, 12, 31));
        assert_eq!(lapsed_on(Signed, end, d(2027, 12, 31)), None, "its last day");
        assert_eq!(lapsed_on(Signed, end, d(2028, 1, 1)), end);
        assert_eq!(lapsed_on(Signed, None, d(2040, 1, 1)), None, "no end: it runs");
        assert_eq!(lapsed_on(Expired, end, d(2028, 1, 1)), None, "recorded");
        assert_eq!(lapsed_on(Reviewed, end, d(2028, 1, 1)), None, "never signed");
    }

    #[test]
    fn art_9_an_agreement_is_signed_only_after_the_other_partys_review() {
        assert_eq!(check_step(Proposed, Reviewed), Ok(()));
        assert_eq!(check_step(Reviewed, Signed), Ok(()));
        assert_eq!(check_step(Signed, Expired), Ok(()));
        let e = check_step(Proposed, Signed).unwrap_err();
        assert!(
            e.contains("ne peut pas être signé") && e.contains("étape manquante « Revu par le DPD de l'autre partie »"),
            "{e}"
        );
        let e = check_step(Proposed, Expired).unwrap_err();
        assert!(e.contains("étape manquante « Revu par le DPD de l'autre partie »"), "{e}");
        assert!(check_step(Signed, Reviewed).unwrap_err().contains("déjà passée"));
        assert!(check_step(Expired, Signed).unwrap_err().contains("déjà passée"));
        assert!(check_step(Reviewed, Proposed).unwrap_err().contains("à sa création"));
    }

    #[test]
    fn art_9_the_review_is_made_by_the_other_party() {
        assert_eq!(check_reviewer(&[1, 2], Some(1), 2), Ok(()));
        assert!(check_reviewer(&[1, 2], Some(1), 1).unwrap_err().contains("l'autre partie"));
        assert!(check_reviewer(&[1, 2], Some(1), 3).unwrap_err().contains("n'en est pas partie"));
    }
}
