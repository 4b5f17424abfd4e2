//! The outbox of the reminders by e-mail, on both databases: a mail is enqueued once per key, and
//! workers claiming at once never get the same row; a failure is put off, a lease that ends frees
//! the row for another worker.

use chrono::{Duration, Utc};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, NewMail};

fn mail(n: usize, user_id: i64) -> NewMail {
    NewMail {
        dedup_key: format!("seance:{user_id}:{n}"),
        user_id: Some(user_id),
        recipient: "claire@cabbalr.fr".into(),
        kind: "seance".into(),
        subject: format!("Séance n° {n}"),
        body_text: "texte".into(),
        body_html: "<p>texte</p>".into(),
        attachment: None,
    }
}

backend_tests!(outbox_claims_never_overlap, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let actor = ctg_domain::Actor::cli("test");
        let new = ctg_store::NewUser {
            name: "Claire Coordination",
            email: "claire@cabbalr.fr",
            organisation_id: None,
            is_admin: false,
            password: None,
            must_change_password: false,
        };
        let user = store.create_user(&actor, &new).await.unwrap();
        let now = Utc::now();
        // Enqueued twice at once: written once.
        for n in 0..40 {
            let m = mail(n, user);
            let (sa, sb) = (format!("secret-a-{n}"), format!("secret-b-{n}"));
            let (a, b) = tokio::join!(store.enqueue_mail(&m, Some(&sa), now), store.enqueue_mail(&m, Some(&sb), now));
            assert!(a.unwrap() ^ b.unwrap(), "mail {n} enqueued exactly once");
        }
        assert_eq!(store.outbox().await.unwrap().len(), 40);
        // Four workers claim at once: every row once.
        let lease = Duration::minutes(5);
        let claims = futures_claims(&store, now, lease).await;
        let mut ids: Vec<i64> = claims.iter().flat_map(|(_, c)| c).map(|m| m.id).collect();
        ids.sort_unstable();
        let total = ids.len();
        ids.dedup();
        assert_eq!((total, ids.len()), (40, 40), "each row claimed by one worker");
        assert!(store.outbox().await.unwrap().iter().all(|m| m.attempts == 1));
        // Nothing more to claim while the leases run.
        assert!(store.claim_mails("w9", now, lease, 100).await.unwrap().is_empty());
        // A worker sends its first, fails its second: put off, the error kept.
        let (worker, mine) = &claims[0];
        let (other, _) = &claims[1];
        let first = &mine[0];
        assert!(!store.mark_mail_sent(first.id, other, now).await.unwrap(), "only its worker marks it");
        assert!(store.mark_mail_sent(first.id, worker, now).await.unwrap());
        let second = &mine[1];
        let later = ctg_domain::reminders::retry_at(1, now, std::time::Duration::ZERO);
        store.mark_mail_failed(second.id, worker, "connexion refusée", later).await.unwrap();
        let row = store.outbox().await.unwrap().into_iter().find(|m| m.id == second.id).unwrap();
        assert_eq!((row.attempts, row.last_error.as_deref(), row.sent_at), (1, Some("connexion refusée"), None));
        assert!(store.claim_mails("w9", now, lease, 100).await.unwrap().is_empty(), "not before its time");
        // Once the leases and the wait are over, the rest is claimed again, the sent one never.
        let after = now + Duration::minutes(6);
        let again = store.claim_mails("w9", after, lease, 100).await.unwrap();
        assert_eq!(again.len(), 39);
        assert!(again.iter().all(|m| m.id != first.id));
        assert_eq!(again.iter().find(|m| m.id == second.id).unwrap().attempts, 2);
        // The unsubscribe link of the mail that was written works; the other one was never kept.
        let stopped = store
            .unsubscribe("secret-a-0", false)
            .await
            .unwrap()
            .or(store.unsubscribe("secret-b-0", false).await.unwrap());
        assert_eq!(stopped.unwrap().kind, Some(ctg_domain::reminders::ReminderKind::Meeting));
        assert!(store.unsubscribe("inconnu", false).await.unwrap().is_none());
    }
});

/// Four workers claiming at once, the one that got the most first.
async fn futures_claims(
    store: &ctg_store::Store,
    now: chrono::DateTime<Utc>,
    lease: Duration,
) -> Vec<(&'static str, Vec<ctg_store::OutboxMail>)> {
    let (a, b, c, d) = tokio::join!(
        store.claim_mails("w0", now, lease, 15),
        store.claim_mails("w1", now, lease, 15),
        store.claim_mails("w2", now, lease, 15),
        store.claim_mails("w3", now, lease, 15)
    );
    let mut out = vec![("w0", a.unwrap()), ("w1", b.unwrap()), ("w2", c.unwrap()), ("w3", d.unwrap())];
    out.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    out
}
