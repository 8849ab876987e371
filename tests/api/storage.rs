//! Storage guarantees: migrations run up, down and up again on both
//! databases; the audit log refuses to be rewritten.

use pakn::store::Store;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;

use crate::helpers::{apps, fresh_database, postgres_admin_url, test_settings, valid_submission};

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let mut backends = vec!["sqlite"];
    if postgres_admin_url().is_some() {
        backends.push("postgres");
    }
    for backend in backends {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings();
        settings.database.url = SecretString::from(fresh_database(backend, &dir).await);
        let store = Store::connect(&settings.database).await.unwrap();
        store.migrate_up().await.unwrap();
        assert!(
            store
                .migration_status()
                .await
                .unwrap()
                .iter()
                .all(|(_, applied)| *applied)
        );
        store
            .migrate_down(None)
            .await
            .unwrap_or_else(|e| panic!("[{backend}] down: {e}"));
        assert!(
            store
                .migration_status()
                .await
                .unwrap()
                .iter()
                .all(|(_, applied)| !*applied),
            "[{backend}] all rolled back"
        );
        store
            .migrate_up()
            .await
            .unwrap_or_else(|e| panic!("[{backend}] up again: {e}"));
        pakn::startup::load_demo_directory(&store).await.unwrap();
        // Loading the directory twice changes nothing.
        let before = store
            .list_agencies(&Default::default(), chrono::Utc::now().date_naive())
            .await
            .unwrap()
            .len();
        pakn::startup::load_demo_directory(&store).await.unwrap();
        assert_eq!(
            store
                .list_agencies(&Default::default(), chrono::Utc::now().date_naive())
                .await
                .unwrap()
                .len(),
            before
        );
        store.close().await;
    }
}

#[tokio::test]
async fn the_audit_log_cannot_be_rewritten() {
    for app in apps().await {
        app.post_feedback(&valid_submission()).await;
        let db = app.store.connection();
        let backend = db.get_database_backend();
        for sql in [
            "UPDATE audit_event SET action = 'forged'",
            "DELETE FROM audit_event",
        ] {
            let result = db.execute_raw(Statement::from_string(backend, sql)).await;
            assert!(result.is_err(), "[{}] `{sql}` must be refused", app.backend);
            assert!(result.unwrap_err().to_string().contains("append-only"));
        }
    }
}
