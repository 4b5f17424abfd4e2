//! The life of a convention in storage: signatures, avenants and the versions of the texts,
//! termination under art. 13, and what a convention's page shows on a day, on SQLite and PostgreSQL.

use chrono::NaiveDate;
use ctg_domain::life::{
    diff_lines, AvenantChange, ChangeTarget, DiffLine, LifeStatus, SignedOn, TerminationGround, VersionState,
};
use ctg_domain::{Actor, ConventionStatus, NewConvention, Organisation, OrganisationKind, Party, PartyRole, Siren};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, AgreementEdit, HistoryFilter, NewAvenant, Store, Termination};

use crate::fixtures::load_territory;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn party(name: &str, kind: OrganisationKind, role: PartyRole) -> Party {
    Party {
        organisation: Organisation { name: name.into(), short_name: None, kind, siren: None, address: None },
        role,
        signatory: None,
        signatory_title: None,
        deliberation: None,
        deliberation_date: None,
        signature_date: None,
        signature_month_only: false,
    }
}

/// A draft convention with the four signatories of the CTG 2026-2030 and an associated partner.
async fn convention(store: &Store, title: &str, start: NaiveDate, end: NaiveDate) -> i64 {
    let new = NewConvention {
        title: title.into(),
        epci: Siren::parse("200072460").unwrap(),
        start,
        end,
        status: ConventionStatus::Draft,
        signing_place: Some("Béthune".into()),
        parties: vec![
            party("Communauté d'Agglomération de Béthune-Bruay", OrganisationKind::Epci, PartyRole::Signatory),
            party("Caisse d'Allocations Familiales du Pas-de-Calais", OrganisationKind::Caf, PartyRole::Signatory),
            party("Mutualité Sociale Agricole Nord-Pas-de-Calais", OrganisationKind::Msa, PartyRole::Signatory),
            party("Département du Pas-de-Calais", OrganisationKind::Departement, PartyRole::Signatory),
            party("Association des centres sociaux", OrganisationKind::Association, PartyRole::Partner),
        ],
        stakes: vec![],
        approaches: vec![],
        bodies: vec![],
        predecessor: None,
        published: false,
    };
    store.create_convention(&Actor::cli("test"), &new, None).await.unwrap()
}

async fn party_ids(store: &Store, id: i64) -> Vec<i64> {
    store.convention(id).await.unwrap().parties.iter().map(|p| p.id).collect()
}

/// Signs the convention by its four signatories, on the days given.
async fn sign_all(store: &Store, id: i64, days: [NaiveDate; 4]) {
    let actor = Actor::cli("test");
    let parties = party_ids(store, id).await;
    for (p, day) in parties.iter().zip(days) {
        store
            .sign_party(&actor, id, *p, SignedOn::day(day), Some("Délibération n° 2025-140"), Some(day))
            .await
            .unwrap();
    }
}

fn change(target: ChangeTarget, before: &str, after: &str) -> AvenantChange {
    AvenantChange { target, before: before.into(), after: after.into() }
}

const TEXT: &str = "Article 11 : Durée de la convention\n\
La présente convention est conclue à compter du 1er janvier 2026 jusqu'au 31 décembre 2030.\n\
Article 12 : Exécution formelle de la convention\n\
Toute modification fera l'objet d'un avenant.\n";

backend_tests!(signatures_bring_the_convention_into_force, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2026-2030", d(2026, 1, 1), d(2030, 12, 31)).await;
        let parties = party_ids(&store, id).await;
        let life = store.life(id, d(2025, 12, 1)).await.unwrap();
        assert_eq!(life.status, LifeStatus::Draft);
        assert_eq!(life.status.label(), "Brouillon");

        // A dated deliberation must precede the signature.
        let err = store
            .sign_party(&actor, id, parties[0], SignedOn::day(d(2025, 12, 1)), Some("Conseil"), Some(d(2025, 12, 2)))
            .await;
        assert!(err.unwrap_err().to_string().contains("postérieure à la signature"));
        // A partner does not sign.
        let err = store
            .sign_party(&actor, id, parties[4], SignedOn::day(d(2025, 12, 1)), Some("CA"), Some(d(2025, 9, 30)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("partenaire associé"), "{err}");

        for (p, day) in parties[..3].iter().zip([d(2025, 12, 1), d(2025, 12, 5), d(2025, 12, 9)]) {
            let version = store
                .sign_party(&actor, id, *p, SignedOn::day(day), Some("Conseil, délibération 12"), Some(d(2025, 9, 30)))
                .await
                .unwrap();
            assert_eq!(version, 2);
        }
        // Once signed, a party's signature is corrected by editing the party, not by signing again.
        let again = store
            .sign_party(&actor, id, parties[0], SignedOn::day(d(2025, 12, 2)), Some("Conseil"), Some(d(2025, 9, 30)))
            .await;
        assert!(again.unwrap_err().to_string().contains("a déjà signé"));
        let life = store.life(id, d(2026, 1, 10)).await.unwrap();
        assert_eq!(life.status, LifeStatus::AwaitingSignatures { signed: 3, parties: 4 });
        assert_eq!(life.status.label(), "En attente de signatures (3 sur 4)");
        assert_eq!(store.convention_summary(id).await.unwrap().status, ConventionStatus::Draft);

        // The last signature comes after the start date: art. 11 (« conclue à compter du 01 Janvier
        // 2026 ») puts it in force over the whole period, from its start; before that signature it
        // was awaiting signatures, never in force.
        store
            .sign_party(
                &actor,
                id,
                parties[3],
                SignedOn::day(d(2026, 1, 20)),
                Some("Commission permanente"),
                Some(d(2026, 1, 12)),
            )
            .await
            .unwrap();
        let life = store.life(id, d(2026, 1, 19)).await.unwrap();
        assert_eq!(life.status, LifeStatus::AwaitingSignatures { signed: 3, parties: 4 });
        assert_eq!(life.in_force_from, Some(d(2026, 1, 1)));
        let life = store.life(id, d(2026, 1, 20)).await.unwrap();
        assert_eq!(life.status, LifeStatus::InForce { until: d(2030, 12, 31) });
        assert_eq!(life.next_milestone, Some((d(2030, 12, 31), "Fin de la convention".into())));
        // The last signature records the convention as signed, in the same transaction.
        assert_eq!(store.convention_summary(id).await.unwrap().status, ConventionStatus::Signed);
        let history =
            store.history(&HistoryFilter { convention_id: Some(id), ..HistoryFilter::default() }).await.unwrap();
        assert_eq!(history.iter().filter(|e| e.action == "signature").count(), 4);
        assert!(history.iter().any(|e| e.object_type == "convention" && e.action == "modification"));
        let signed = &store.convention(id).await.unwrap().parties[3].party;
        assert_eq!(
            (signed.deliberation.as_deref(), signed.deliberation_date, signed.signature_date),
            (Some("Commission permanente"), Some(d(2026, 1, 12)), Some(d(2026, 1, 20)))
        );

        // A signature on the start date: in force from the start.
        let other = convention(&store, "CTG bis", d(2026, 1, 1), d(2030, 12, 31)).await;
        sign_all(&store, other, [d(2025, 12, 1), d(2025, 12, 2), d(2025, 12, 3), d(2026, 1, 1)]).await;
        let life = store.life(other, d(2026, 1, 1)).await.unwrap();
        assert_eq!((life.in_force_from, life.status.code()), (Some(d(2026, 1, 1)), "en_vigueur"));
        // A signature after the end is refused: renewal is a new convention.
        let late = convention(&store, "CTG ter", d(2021, 1, 1), d(2025, 12, 31)).await;
        let parties = party_ids(&store, late).await;
        let err = store
            .sign_party(&actor, late, parties[0], SignedOn::day(d(2026, 1, 2)), Some("C"), Some(d(2025, 9, 30)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("art. 11"), "{err}");
    }
});

backend_tests!(avenants_change_the_texts_once_signed_by_all, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2026-2030", d(2026, 1, 1), d(2030, 12, 31)).await;
        let parties = party_ids(&store, id).await;
        let extension = NewAvenant {
            date: d(2027, 3, 1),
            title: "Prolongation et plan d'action".into(),
            changes: vec![
                change(ChangeTarget::Text, "jusqu'au 31 décembre 2030", "jusqu'au 30 juin 2031"),
                change(ChangeTarget::EndDate, "31/12/2030", "30/06/2031"),
                change(
                    ChangeTarget::Annex { number: 4, name: "Plan d'action".into() },
                    "",
                    "Fiche 1 : RPE\nFiche 2 : LAEP",
                ),
                change(ChangeTarget::Party { name: "departement du pas de calais".into() }, "", "Son successeur"),
            ],
        };
        // Not before the convention is signed by all.
        let err = store.create_avenant(&actor, id, &extension).await.unwrap_err().to_string();
        assert!(err.contains("pas encore signée"), "{err}");
        sign_all(&store, id, [d(2025, 12, 1), d(2025, 12, 5), d(2025, 12, 9), d(2025, 12, 12)]).await;

        // The initial text, once.
        store.set_initial_text(&actor, id, "convention", TEXT).await.unwrap();
        let err = store.set_initial_text(&actor, id, "convention", "autre").await.unwrap_err().to_string();
        assert!(err.contains("par avenant"), "{err}");
        assert!(store.set_initial_text(&actor, id, "statuts", "x").await.is_err());
        store.set_initial_text(&actor, id, "annexe-1", "Territoire : 100 communes").await.unwrap();

        // Every avenant states its changes; each change changes something.
        let empty = NewAvenant { changes: vec![], ..extension.clone() };
        assert!(store.create_avenant(&actor, id, &empty).await.unwrap_err().to_string().contains("art. 12"));
        let missing = NewAvenant {
            changes: vec![change(ChangeTarget::Text, "jusqu'au 31 décembre 2031", "x")],
            ..extension.clone()
        };
        assert!(store.create_avenant(&actor, id, &missing).await.unwrap_err().to_string().contains("ne figure pas"));
        let wrong_end = NewAvenant {
            changes: vec![change(ChangeTarget::EndDate, "30/06/2030", "30/06/2031")],
            ..extension.clone()
        };
        assert!(store.create_avenant(&actor, id, &wrong_end).await.unwrap_err().to_string().contains("31/12/2030"));

        let first = store.create_avenant(&actor, id, &extension).await.unwrap();
        // Another avenant cannot change what a pending one changes…
        let clash = NewAvenant {
            date: d(2027, 4, 1),
            title: "Autre".into(),
            changes: vec![change(ChangeTarget::Text, "Toute modification", "Chaque modification")],
        };
        let err = store.create_avenant(&actor, id, &clash).await.unwrap_err().to_string();
        assert!(err.contains("l'avenant n° 1") && err.contains("Texte de la convention"), "{err}");
        // … but may change something else; numbers follow without gap.
        let annex = NewAvenant {
            changes: vec![change(
                ChangeTarget::Annex { number: 1, name: String::new() },
                "100 communes",
                "101 communes",
            )],
            ..clash.clone()
        };
        let second = store.create_avenant(&actor, id, &annex).await.unwrap();
        let avenants = store.avenants(id).await.unwrap();
        assert_eq!(avenants.iter().map(|a| (a.id, a.number)).collect::<Vec<_>>(), vec![(first, 1), (second, 2)]);
        assert_eq!(avenants[0].changes[1].before, "2030-12-31");
        assert_eq!(avenants[0].changes.len(), 4);

        // Three of four signatures: not in force, nothing changes.
        for (p, day) in parties[..3].iter().zip([d(2027, 3, 2), d(2027, 3, 5), d(2027, 3, 9)]) {
            assert_eq!(store.sign_avenant(&actor, id, first, *p, day).await.unwrap(), None);
        }
        let err = store.sign_avenant(&actor, id, first, parties[0], d(2027, 3, 3)).await.unwrap_err().to_string();
        assert!(err.contains("a déjà signé"), "{err}");
        assert!(store.sign_avenant(&actor, id, first, parties[4], d(2027, 3, 3)).await.is_err(), "a partner");
        let versions = store.text_versions(id, "convention").await.unwrap();
        assert_eq!(
            versions.iter().map(|v| (v.version, v.state)).collect::<Vec<_>>(),
            vec![(1, VersionState::Current), (2, VersionState::Pending)]
        );
        assert_eq!(versions[0].in_force_from, Some(d(2026, 1, 1)));
        assert_eq!(versions[1].in_force_from, None);
        let life = store.life(id, d(2027, 4, 1)).await.unwrap();
        assert_eq!(life.end, d(2030, 12, 31));
        assert_eq!(
            life.next_milestone,
            Some((d(2027, 4, 1), "Avenant n° 1 en attente de signatures (3 sur 4)".into()))
        );
        assert_eq!(store.convention_summary(id).await.unwrap().end, d(2030, 12, 31));

        // The fourth signs: in force from that signature; its versions and its end date are those in force.
        assert_eq!(
            store.sign_avenant(&actor, id, first, parties[3], d(2027, 4, 12)).await.unwrap(),
            Some(d(2027, 4, 12))
        );
        let versions = store.text_versions(id, "convention").await.unwrap();
        assert_eq!(
            versions.iter().map(|v| (v.version, v.state, v.avenant_number)).collect::<Vec<_>>(),
            vec![(1, VersionState::Superseded, None), (2, VersionState::Current, Some(1))]
        );
        assert_eq!(versions[1].in_force_from, Some(d(2027, 4, 12)));
        assert_eq!(
            diff_lines(&versions[0].content, &versions[1].content),
            vec![
                DiffLine::Same("Article 11 : Durée de la convention".into()),
                DiffLine::Removed(
                    "La présente convention est conclue à compter du 1er janvier 2026 jusqu'au 31 décembre 2030."
                        .into()
                ),
                DiffLine::Added(
                    "La présente convention est conclue à compter du 1er janvier 2026 jusqu'au 30 juin 2031.".into()
                ),
                DiffLine::Same("Article 12 : Exécution formelle de la convention".into()),
                DiffLine::Same("Toute modification fera l'objet d'un avenant.".into()),
            ]
        );
        let annex4 = store.text_versions(id, "annexe-4").await.unwrap();
        assert_eq!(annex4.len(), 1);
        assert_eq!(
            (annex4[0].label.as_str(), annex4[0].content.as_str()),
            ("Annexe 4 « Plan d'action »", "Fiche 1 : RPE\nFiche 2 : LAEP")
        );
        assert_eq!(store.convention_summary(id).await.unwrap().end, d(2031, 6, 30));
        // The party's new signatory is applied with it, the party named as the convention names it.
        let departement = &store.convention(id).await.unwrap().parties[3];
        assert_eq!(departement.party.signatory.as_deref(), Some("Son successeur"));
        assert_eq!(avenants[0].changes[3].target.label(), "Signataire de « Département du Pas-de-Calais »");
        let life = store.life(id, d(2027, 4, 11)).await.unwrap();
        assert_eq!(life.end, d(2030, 12, 31), "the day before the last signature");
        assert_eq!(life.facts.end, d(2030, 12, 31), "the end as first signed");
        let life = store.life(id, d(2031, 1, 1)).await.unwrap();
        assert_eq!(life.status, LifeStatus::InForce { until: d(2031, 6, 30) });
        assert_eq!(life.commitments_end, d(2031, 6, 30));
        let documents: Vec<_> = life.documents.iter().map(|t| (t.key.as_str(), t.current, t.pending)).collect();
        assert_eq!(
            documents,
            vec![("convention", Some(2), None), ("annexe-1", Some(1), Some(2)), ("annexe-4", Some(1), None)]
        );
        assert_eq!(life.avenants[0].in_force_from, Some(d(2027, 4, 12)));
        assert_eq!(life.avenants[1].signed(), 0);
        // Now the text can change again, from the version in force.
        let third = NewAvenant {
            changes: vec![change(ChangeTarget::Text, "Toute modification", "Chaque modification")],
            ..clash
        };
        store.create_avenant(&actor, id, &third).await.unwrap();
        let versions = store.text_versions(id, "convention").await.unwrap();
        assert!(versions[2].content.contains("30 juin 2031") && versions[2].content.contains("Chaque modification"));
        assert_eq!(store.avenants(id).await.unwrap().last().map(|a| a.number), Some(3));
        let history = store
            .history(&HistoryFilter {
                convention_id: Some(id),
                object_type: Some("avenant".into()),
                ..HistoryFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(history.iter().filter(|e| e.action == "creation").count(), 3);
        assert_eq!(history.iter().filter(|e| e.action == "signature").count(), 4);
    }
});

backend_tests!(termination_under_article_13, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2026-2030", d(2026, 1, 1), d(2030, 12, 31)).await;
        let parties = party_ids(&store, id).await;
        let (epci, caf, msa) = (parties[0], parties[1], parties[2]);
        let notice = |ground, notice_date, party_id| Termination { ground, notice_date, party_id, note: None };
        // Only a signed convention.
        let err = store.terminate(&actor, id, &notice(TerminationGround::Notice, d(2026, 3, 1), epci)).await;
        assert!(err.unwrap_err().to_string().contains("pas signée"));
        sign_all(&store, id, [d(2025, 12, 1), d(2025, 12, 5), d(2025, 12, 9), d(2025, 12, 12)]).await;
        // A change without avenant, or a breach of the law, is the CAF's to sanction.
        let err = store.terminate(&actor, id, &notice(TerminationGround::UnsignedChange, d(2027, 1, 31), msa)).await;
        assert!(err.unwrap_err().to_string().contains("seule la Caf"));
        let err = store.terminate(&actor, id, &notice(TerminationGround::LegalBreach, d(2027, 1, 31), epci)).await;
        assert!(err.unwrap_err().to_string().contains("seule la Caf"));
        assert!(store
            .terminate(&actor, id, &notice(TerminationGround::Breach, d(2027, 1, 31), parties[4]))
            .await
            .is_err());

        // A mise en demeure sent on 31 January 2027: effective on 28 February.
        let t = Termination {
            note: Some("  Lettre recommandée restée sans réponse ".into()),
            ..notice(TerminationGround::Breach, d(2027, 1, 31), epci)
        };
        assert_eq!(store.terminate(&actor, id, &t).await.unwrap(), d(2027, 2, 28));
        let err = store.terminate(&actor, id, &notice(TerminationGround::Notice, d(2027, 2, 1), caf)).await;
        assert!(err.unwrap_err().to_string().contains("déjà résiliée"));
        let recorded = store.termination(id).await.unwrap().unwrap();
        assert_eq!(
            (recorded.ground, recorded.notice_date, recorded.effective_date, recorded.party_id),
            (TerminationGround::Breach, d(2027, 1, 31), d(2027, 2, 28), epci)
        );
        assert_eq!(recorded.note.as_deref(), Some("Lettre recommandée restée sans réponse"));
        assert!(recorded.party_name.starts_with("Communauté"));

        let life = store.life(id, d(2027, 2, 27)).await.unwrap();
        assert_eq!(life.status, LifeStatus::InForce { until: d(2030, 12, 31) });
        let (date, label) = life.next_milestone.unwrap();
        assert_eq!(date, d(2027, 2, 28));
        assert!(label.starts_with("Prise d'effet de la résiliation"), "{label}");
        assert_eq!(life.commitments_end, d(2027, 2, 27));
        let life = store.life(id, d(2027, 2, 28)).await.unwrap();
        assert_eq!(life.status.label(), "Résiliée à compter du 28/02/2027");
        assert_eq!(life.next_milestone, None);
        // A terminated convention takes no avenant.
        let avenant = NewAvenant {
            date: d(2027, 2, 10),
            title: "Tardif".into(),
            changes: vec![change(ChangeTarget::Other { what: "Instances".into() }, "a", "b")],
        };
        assert!(store.create_avenant(&actor, id, &avenant).await.unwrap_err().to_string().contains("résiliée"));
        let history = store
            .history(&HistoryFilter {
                convention_id: Some(id),
                object_type: Some("resiliation".into()),
                ..HistoryFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(history.len(), 1);

        // In a leap year: a mise en demeure on 31 January 2028 takes effect on 29 February; a notice
        // given on 31 August 2027 on 29 February 2028 too; the CAF acts at once on a change without avenant.
        for (ground, day, party_index, effective) in [
            (TerminationGround::Breach, d(2028, 1, 31), 0, d(2028, 2, 29)),
            (TerminationGround::Notice, d(2027, 8, 31), 2, d(2028, 2, 29)),
            (TerminationGround::Notice, d(2026, 8, 31), 3, d(2027, 2, 28)),
            (TerminationGround::UnsignedChange, d(2028, 3, 15), 1, d(2028, 3, 15)),
        ] {
            let other =
                convention(&store, &format!("CTG {} {day}", ground.code()), d(2026, 1, 1), d(2030, 12, 31)).await;
            sign_all(&store, other, [d(2025, 12, 1); 4]).await;
            let acting = party_ids(&store, other).await[party_index];
            assert_eq!(
                store.terminate(&actor, other, &notice(ground, day, acting)).await.unwrap(),
                effective,
                "{ground:?} {day}"
            );
            let life = store.life(other, effective).await.unwrap();
            assert_eq!(life.status, LifeStatus::Terminated { from: Some(effective) });
        }
        // Taking effect after the end: refused, the convention expires first.
        let short = convention(&store, "CTG courte", d(2026, 1, 1), d(2026, 12, 31)).await;
        sign_all(&store, short, [d(2025, 12, 1); 4]).await;
        let caf = party_ids(&store, short).await[1];
        let err = store.terminate(&actor, short, &notice(TerminationGround::Notice, d(2026, 8, 31), caf)).await;
        assert!(err.unwrap_err().to_string().contains("après la fin"));
    }
});

backend_tests!(the_page_of_a_convention_ending_with_a_leap_year, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2024-2028", d(2024, 1, 1), d(2028, 12, 31)).await;
        sign_all(&store, id, [d(2023, 12, 1), d(2023, 12, 4), d(2023, 12, 8), d(2023, 12, 15)]).await;
        let parties: Vec<i64> = store.convention(id).await.unwrap().parties.iter().map(|p| p.id).collect();
        let agreement = AgreementEdit {
            title: "Échange des listes d'allocataires".into(),
            party_ids: parties[..2].to_vec(),
            proposer_party_id: parties[0],
            data_categories: "effectifs par commune".into(),
            purpose: "diagnostic".into(),
            legal_basis: "mission d'intérêt public".into(),
            start_date: Some(d(2024, 1, 1)),
            end_date: Some(d(2027, 6, 30)),
        };
        store.create_agreement(&actor, id, &agreement, d(2023, 11, 2), "Jeanne Martin").await.unwrap();

        let life = store.life(id, d(2027, 1, 1)).await.unwrap();
        assert_eq!(
            life.next_milestone,
            Some((d(2027, 6, 30), "Fin de l'accord d'échange de données « Échange des listes d'allocataires »".into()))
        );
        assert_eq!(life.parties.len(), 5);
        assert_eq!(life.in_force_from, Some(d(2024, 1, 1)));
        let life = store.life(id, d(2028, 12, 31)).await.unwrap();
        assert_eq!(life.status, LifeStatus::InForce { until: d(2028, 12, 31) });
        assert_eq!(life.next_milestone, Some((d(2028, 12, 31), "Fin de la convention".into())));
        let life = store.life(id, d(2029, 1, 1)).await.unwrap();
        assert_eq!(life.status, LifeStatus::Expired { ended: d(2028, 12, 31) });
        assert_eq!(life.status.label(), "Expirée");
        assert_eq!(life.next_milestone, None);
        // An expired convention takes no termination, and no avenant.
        let caf = life.parties[1].id;
        let t =
            Termination { ground: TerminationGround::Breach, notice_date: d(2029, 1, 2), party_id: caf, note: None };
        assert!(store.terminate(&actor, id, &t).await.unwrap_err().to_string().contains("pris fin"));
        assert!(store.termination(id).await.unwrap().is_none());
        let late = NewAvenant {
            date: d(2029, 1, 2),
            title: "Prolongation".into(),
            changes: vec![change(ChangeTarget::EndDate, "", "31/12/2029")],
        };
        assert!(store.create_avenant(&actor, id, &late).await.unwrap_err().to_string().contains("nouvelle convention"));
        // A renewal is a new convention linked to this one.
        let new = NewConvention {
            title: "CTG 2029-2033".into(),
            epci: Siren::parse("200072460").unwrap(),
            start: d(2029, 1, 1),
            end: d(2033, 12, 31),
            status: ConventionStatus::Draft,
            signing_place: None,
            parties: vec![],
            stakes: vec![],
            approaches: vec![],
            bodies: vec![],
            predecessor: None,
            published: false,
        };
        let renewal = store.create_convention(&actor, &new, Some(id)).await.unwrap();
        let life = store.life(id, d(2029, 1, 1)).await.unwrap();
        assert_eq!(life.successors.iter().map(|s| s.id).collect::<Vec<_>>(), vec![renewal]);
        assert_eq!(store.life(renewal, d(2029, 1, 1)).await.unwrap().predecessor.map(|p| p.id), Some(id));
    }
});

backend_tests!(the_texts_of_the_convention_s_life_are_cleaned_like_every_text, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        // Issue 11, « one input-cleaning rule for every text that enters »: the deliberation of a
        // signature, an avenant's title and changes, the texts of the convention and a termination's
        // note go through ctg_domain::text like the rest.
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2026-2030", d(2026, 1, 1), d(2030, 12, 31)).await;
        let parties = party_ids(&store, id).await;
        let err = store
            .sign_party(
                &actor,
                id,
                parties[0],
                SignedOn::day(d(2025, 12, 1)),
                Some("Délib\u{0}ération"),
                Some(d(2025, 12, 1)),
            )
            .await;
        assert!(err.unwrap_err().to_string().contains("« délibération » contient un caractère de contrôle"));
        let long = "x".repeat(ctg_domain::text::MAX_TITLE_CHARS + 1);
        let err = store
            .sign_party(&actor, id, parties[0], SignedOn::day(d(2025, 12, 1)), Some(&long), Some(d(2025, 12, 1)))
            .await;
        assert!(err.unwrap_err().to_string().contains("« délibération » dépasse 500 caractères"));
        sign_all(&store, id, [d(2025, 12, 1), d(2025, 12, 5), d(2025, 12, 9), d(2025, 12, 12)]).await;
        let signed = store.convention(id).await.unwrap();
        assert_eq!(signed.parties[0].party.deliberation.as_deref(), Some("Délibération n° 2025-140"));

        let err = store.set_initial_text(&actor, id, "convention", "Article 1\u{202e}fdp.js").await.unwrap_err();
        assert!(err.to_string().contains("« texte » contient un caractère de contrôle interdit (U+202E)"), "{err}");
        store.set_initial_text(&actor, id, "convention", "Article 11\r\nDurée : cinq ans.\r\n").await.unwrap();
        let versions = store.text_versions(id, "convention").await.unwrap();
        assert_eq!(versions[0].content, "Article 11\nDurée : cinq ans.");

        let good = NewAvenant {
            date: d(2027, 3, 1),
            title: "Avenant n° 1".into(),
            changes: vec![change(ChangeTarget::Text, "cinq ans", "six ans")],
        };
        let bad_title = NewAvenant { title: "Avenant\u{1b}[31m".into(), ..good.clone() };
        let err = store.create_avenant(&actor, id, &bad_title).await.unwrap_err().to_string();
        assert!(err.contains("« intitulé » contient un caractère de contrôle"), "{err}");
        let bad_change = NewAvenant {
            changes: vec![change(ChangeTarget::Other { what: "x".repeat(600) }, "a", "b")],
            ..good.clone()
        };
        let err = store.create_avenant(&actor, id, &bad_change).await.unwrap_err().to_string();
        assert!(err.contains("modification n° 1 : le champ « objet de la modification » dépasse 500"), "{err}");
        let bad_after =
            NewAvenant { changes: vec![change(ChangeTarget::Text, "cinq ans", "six\u{7f} ans")], ..good.clone() };
        let err = store.create_avenant(&actor, id, &bad_after).await.unwrap_err().to_string();
        assert!(err.contains("modification n° 1 : le champ « après » contient"), "{err}");
        assert!(store.avenants(id).await.unwrap().is_empty(), "rien n'est écrit");
        store.create_avenant(&actor, id, &good).await.unwrap();

        let t = Termination {
            ground: TerminationGround::Notice,
            notice_date: d(2027, 1, 31),
            party_id: parties[0],
            note: Some("Lettre\u{0}".into()),
        };
        let err = store.terminate(&actor, id, &t).await.unwrap_err().to_string();
        assert!(err.contains("« note » contient un caractère de contrôle"), "{err}");
        assert!(store.termination(id).await.unwrap().is_none());
    }
});

// Art. 9 of the convention: « en cas de projet d'échanges de données [personnelles] par l'une des
// parties, [ils] feront obligatoirement l'objet d'un examen préalable de conformité au RGPD par l'autre
// partie ». An agreement is created « proposé », reviewed by the DPO of another of its parties, then
// signed, then expired; each step says who and when; none is skipped.
backend_tests!(art_9_an_agreement_is_reviewed_by_the_other_partys_dpo_before_it_is_signed, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2026-2030", d(2026, 1, 1), d(2030, 12, 31)).await;
        let other = convention(&store, "Autre CTG", d(2026, 1, 1), d(2030, 12, 31)).await;
        let parties = party_ids(&store, id).await;
        let (epci, caf) = (parties[0], parties[1]);
        let edit = AgreementEdit {
            title: "Effectifs d'allocataires par commune".into(),
            party_ids: vec![epci, caf],
            proposer_party_id: caf,
            data_categories: "effectifs par commune".into(),
            purpose: "diagnostic".into(),
            legal_basis: "mission d'intérêt public".into(),
            start_date: Some(d(2026, 2, 1)),
            end_date: Some(d(2027, 1, 31)),
        };
        // Parties are parties of this convention, two at least, the proposer among them.
        let foreign = party_ids(&store, other).await[0];
        let e = store
            .create_agreement(
                &actor,
                id,
                &AgreementEdit { party_ids: vec![epci, foreign], ..edit.clone() },
                d(2026, 1, 5),
                "A",
            )
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains(&format!("la partie n° {foreign} n'est pas une partie de cette convention")),
            "{e}"
        );
        let e = store
            .create_agreement(&actor, id, &AgreementEdit { party_ids: vec![caf], ..edit.clone() }, d(2026, 1, 5), "A")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("au moins deux parties"), "{e}");
        let e = store
            .create_agreement(
                &actor,
                id,
                &AgreementEdit { proposer_party_id: parties[2], ..edit.clone() },
                d(2026, 1, 5),
                "A",
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("la partie qui propose"), "{e}");
        assert!(store.agreements(id).await.unwrap().is_empty(), "nothing half-written");

        let aid = store.create_agreement(&actor, id, &edit, d(2026, 1, 5), "Jean Dupont").await.unwrap();
        let a = store.agreements(id).await.unwrap().remove(0);
        assert_eq!(a.status, "propose");
        assert_eq!(a.party_ids, vec![epci, caf]);
        assert_eq!(
            a.parties,
            "Communauté d'Agglomération de Béthune-Bruay, Caisse d'Allocations Familiales du Pas-de-Calais"
        );
        assert_eq!((a.steps.len(), a.steps[0].done_by.as_str(), a.steps[0].done_on), (1, "Jean Dupont", d(2026, 1, 5)));

        let step = |s: ctg_store::AgreementStep, on: NaiveDate, by: &str, party: Option<i64>| {
            ctg_store::NewAgreementStep { step: s, done_on: on, done_by: by.into(), party_id: party, note: None }
        };
        use ctg_store::AgreementStep::*;
        // Not signed before the review: the refusal names the missing step, and nothing changes.
        let e = store
            .record_agreement_step(&actor, id, aid, a.version, &step(Signed, d(2026, 1, 20), "Les signataires", None))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ne peut pas être signé avant l'examen"), "{e}");
        assert!(e.to_string().contains("étape manquante « Revu par le DPD de l'autre partie »"), "{e}");
        // The review is made by the other party, not the one proposing, and dated after the proposal.
        let e = store
            .record_agreement_step(
                &actor,
                id,
                aid,
                a.version,
                &step(Reviewed, d(2026, 1, 12), "DPD de la CAF", Some(caf)),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("l'autre partie"), "{e}");
        let e = store
            .record_agreement_step(&actor, id, aid, a.version, &step(Reviewed, d(2026, 1, 12), "DPD", None))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("indiquez la partie dont le DPD"), "{e}");
        let e = store
            .record_agreement_step(&actor, id, aid, a.version, &step(Reviewed, d(2026, 1, 2), "DPD", Some(epci)))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ne peut précéder"), "{e}");
        let v = store
            .record_agreement_step(
                &actor,
                id,
                aid,
                a.version,
                &step(Reviewed, d(2026, 1, 12), "Marie Durand, DPD", Some(epci)),
            )
            .await
            .unwrap();
        // Once reviewed, the content reviewed does not change.
        let e = store.update_agreement(&actor, id, aid, v, &edit).await.unwrap_err();
        assert!(e.to_string().contains("ne change plus"), "{e}");
        // A stale version is refused.
        assert!(matches!(
            store.record_agreement_step(&actor, id, aid, a.version, &step(Signed, d(2026, 1, 20), "X", None)).await,
            Err(ctg_store::StoreError::Stale { .. })
        ));
        let v = store
            .record_agreement_step(&actor, id, aid, v, &step(Signed, d(2026, 1, 20), "Les directeurs", None))
            .await
            .unwrap();
        let e = store
            .record_agreement_step(&actor, id, aid, v, &step(Reviewed, d(2026, 1, 21), "DPD", Some(epci)))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("déjà passée"), "{e}");
        store.record_agreement_step(&actor, id, aid, v, &step(Expired, d(2027, 1, 31), "Fin", None)).await.unwrap();

        let a = store.agreements(id).await.unwrap().remove(0);
        assert_eq!(a.status, "expire");
        let steps: Vec<(&str, NaiveDate, &str)> =
            a.steps.iter().map(|s| (s.step.as_str(), s.done_on, s.done_by.as_str())).collect();
        assert_eq!(
            steps,
            [
                ("propose", d(2026, 1, 5), "Jean Dupont"),
                ("revu_dpd", d(2026, 1, 12), "Marie Durand, DPD"),
                ("signe", d(2026, 1, 20), "Les directeurs"),
                ("expire", d(2027, 1, 31), "Fin"),
            ]
        );
        assert!(a.steps.iter().all(|s| s.recorded_by == actor.label));
        assert_eq!(a.steps[1].party_id, Some(epci));
        // Each step is in the history.
        let history = store.history(&HistoryFilter { convention_id: Some(id), ..Default::default() }).await.unwrap();
        assert_eq!(history.iter().filter(|e| e.object_type == "accord" && e.action == "etape").count(), 3);
    }
});

// What a server keeps in memory (the facts of each convention's life, its plan, its EPCI) must never
// be served once another server sharing the database has committed a write: each entry is served only
// at the write stamp (or territory revision) it was read at.
backend_tests!(a_write_by_one_server_is_seen_at_once_by_another_that_kept_what_it_read, |db: &TestDb| {
    let store = db.store.clone();
    let url = db.url.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2026-2030", d(2026, 1, 1), d(2030, 12, 31)).await;
        let parties = party_ids(&store, id).await;
        let other = Store::connect(&url).await.unwrap();
        let day = d(2026, 1, 10);

        // The other server reads twice (the second answer from its memory).
        for _ in 0..2 {
            assert_eq!(other.life_statuses(&[id], day).await.unwrap(), vec![LifeStatus::Draft]);
            assert!(other.plan(id).await.unwrap().indicators.is_empty());
            assert!(other.plan_outline(id).await.unwrap().fiches.is_empty());
        }
        let siren = Siren::parse("200072460").unwrap();
        let before = other.epci(&siren).await.unwrap();
        assert_eq!(other.epci(&siren).await.unwrap().communes, before.communes);

        // This server signs, adds an indicator and changes a population.
        store
            .sign_party(&actor, id, parties[0], SignedOn::day(d(2025, 12, 1)), Some("Conseil"), Some(d(2025, 9, 30)))
            .await
            .unwrap();
        let indicator = ctg_domain::plan::PlanIndicator {
            name: "Places d'accueil".into(),
            kind: ctg_domain::plan::IndicatorKind::Qualitative { scale: vec!["non engagé".into(), "atteint".into()] },
            targets: Default::default(),
        };
        store.create_indicator(&actor, id, None, &indicator).await.unwrap();
        let commune = before.communes[0].clone();
        let vintage = *commune.by_vintage.keys().next_back().unwrap();
        let population =
            ctg_domain::Population { municipal: Some(123_456), counted_apart: Some(0), total: Some(123_456) };
        store
            .upsert_populations(
                &actor,
                &[ctg_domain::PopulationRecord { commune: commune.code.clone(), vintage, population }],
                "test",
            )
            .await
            .unwrap();

        // The other server sees all of it at once.
        assert_eq!(
            other.life_statuses(&[id], day).await.unwrap(),
            vec![LifeStatus::AwaitingSignatures { signed: 1, parties: 4 }]
        );
        let plan = other.plan(id).await.unwrap();
        assert_eq!(plan.indicators.iter().map(|i| i.indicator.name.as_str()).collect::<Vec<_>>(), ["Places d'accueil"]);
        let after = other.epci(&siren).await.unwrap();
        let changed = after.communes.iter().find(|c| c.code == commune.code).unwrap();
        assert_eq!(changed.by_vintage[&vintage].municipal, Some(123_456));
        other.close().await;
    }
});

// The revision of a convention is a sum of counters, so that concurrent writers do not wait for each
// other's commit (migration 20261207003002_revision_slots): each write committed must still raise it by
// exactly one, whichever counter it raised, and several writers at once must all be counted.
backend_tests!(concurrent_writes_each_raise_the_write_stamp_of_their_convention_once, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let id = convention(&store, "CTG 2026-2030", d(2026, 1, 1), d(2030, 12, 31)).await;
        let other = convention(&store, "CTG voisine", d(2026, 1, 1), d(2030, 12, 31)).await;
        let indicator = ctg_domain::plan::PlanIndicator {
            name: "Places d'accueil".into(),
            kind: ctg_domain::plan::IndicatorKind::Quantitative {
                unit: "places".into(),
                baseline: None,
                baseline_year: None,
                direction: ctg_domain::plan::Direction::Increase,
            },
            targets: Default::default(),
        };
        let iid = store.create_indicator(&actor, id, None, &indicator).await.unwrap();
        let stamps = |s: Store| async move { s.write_stamps(&[id, other]).await.unwrap() };
        let before = stamps(store.clone()).await;

        let writers: Vec<_> = (0..40)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let value = ctg_domain::plan::IndicatorValue {
                        period: "2026".into(),
                        number: Some(f64::from(n)),
                        level: None,
                        author: String::new(),
                        date: d(2026, 12, 1),
                        source: "test".into(),
                        comment: String::new(),
                    };
                    store.add_indicator_value(&Actor::cli("test"), id, iid, &value).await.unwrap()
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }

        let after = stamps(store.clone()).await;
        assert_eq!(after[&id].convention, before[&id].convention + 40, "40 écritures, 40 de plus");
        assert_eq!(after[&other].convention, before[&other].convention, "l'autre convention n'a pas bougé");
        assert_eq!(after[&id].shared, before[&id].shared);
        assert_eq!(store.plan(id).await.unwrap().indicators[0].values.len(), 40);
    }
});
