//! Storage guarantees: migrations run up, down and up again on both
//! databases; the audit log refuses to be rewritten.

use crate::{case, case_once};
use macro_rules_attribute::apply;

use pakn::store::Store;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;

use crate::helpers::{apps, fresh_database, test_settings, valid_submission};

#[apply(case!)]
async fn migrations_go_up_down_and_up_again() {
    for backend in crate::harness::backends() {
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

#[apply(case!)]
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

/// A counter that fell behind the codes already issued (a restored backup,
/// a lost write) must not turn submissions into errors: the store moves
/// the counter past the highest code and tries again.
#[apply(case!)]
async fn a_tracking_counter_behind_existing_codes_resynchronises() {
    for app in apps().await {
        for _ in 0..3 {
            assert_eq!(
                app.post_feedback(&valid_submission()).await.status,
                reqwest::StatusCode::CREATED
            );
        }
        let db = app.store.connection();
        let backend = db.get_database_backend();
        let day = pakn::domain::time::vietnam_date(chrono::Utc::now())
            .format("%Y%m%d")
            .to_string();
        let rewind = match backend {
            sea_orm::DbBackend::Postgres => format!("SELECT setval('tracking_48_{day}', 1)"),
            _ => "UPDATE tracking_sequence SET last_value = 1".to_string(),
        };
        db.execute_raw(Statement::from_string(backend, rewind))
            .await
            .unwrap();
        let reply = app.post_feedback(&valid_submission()).await;
        assert_eq!(
            reply.status,
            reqwest::StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert!(
            reply.body["tracking_code"]
                .as_str()
                .unwrap()
                .ends_with(".0004"),
            "[{}] continues after the highest code: {}",
            app.backend,
            reply.body
        );
    }
}

/// Items refer to agencies and fields without foreign keys (for intake
/// throughput), so the database refuses to delete them instead.
#[apply(case!)]
async fn agencies_and_fields_cannot_be_deleted() {
    for app in apps().await {
        let db = app.store.connection();
        let backend = db.get_database_backend();
        for sql in [
            "DELETE FROM agency WHERE code = '48.SXD'",
            "DELETE FROM field WHERE code = 'xay_dung'",
        ] {
            let result = db.execute_raw(Statement::from_string(backend, sql)).await;
            assert!(
                result.is_err_and(|e| e.to_string().contains("never deleted")),
                "[{}] `{sql}` must be refused",
                app.backend
            );
        }
    }
}

/// PostgreSQL draws tracking numbers from one sequence per day; housekeeping
/// drops those more than a week old and keeps the current ones.
#[apply(case!)]
async fn old_tracking_sequences_are_dropped() {
    for app in apps().await {
        assert_eq!(
            app.post_feedback(&valid_submission()).await.status,
            reqwest::StatusCode::CREATED
        );
        let today = pakn::domain::time::vietnam_date(chrono::Utc::now());
        assert_eq!(
            app.store
                .drop_stale_tracking_sequences(today, 7)
                .await
                .unwrap(),
            0,
            "[{}] today's is kept",
            app.backend
        );
        let later = today + chrono::Duration::days(8);
        let dropped = app
            .store
            .drop_stale_tracking_sequences(later, 7)
            .await
            .unwrap();
        assert_eq!(
            dropped,
            usize::from(app.backend == "postgres"),
            "[{}]",
            app.backend
        );
        // A submission after the drop recreates what it needs.
        assert_eq!(
            app.post_feedback(&valid_submission()).await.status,
            reqwest::StatusCode::CREATED
        );
    }
}

/// Every connection the service holds to PostgreSQL sends at once
/// (`TCP_NODELAY`). Without it, a statement the kernel sends in more than
/// one segment waits for the server's delayed acknowledgement: 43 ms for
/// each group-commit batch of thirteen or more items, measured under load
/// (sqlx 0.9.0 stopped setting the option; 0.9.1 sets it again).
#[apply(case_once!)]
async fn connections_to_postgresql_send_without_delay() {
    crate::harness::require_postgres();
    let app = crate::helpers::spawn("postgres", &|_| {}).await;
    app.post_feedback(&valid_submission()).await;
    let db = app.store.connection();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT inet_server_port() AS port",
        ))
        .await
        .unwrap()
        .unwrap();
    let port = u16::try_from(row.try_get::<i32>("", "port").unwrap()).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: only borrowed long enough to duplicate it; a
        // descriptor closed meanwhile fails to duplicate or names
        // another socket, which the peer check below skips.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let Ok(owned) = borrowed.try_clone_to_owned() else {
            continue;
        };
        let stream = std::net::TcpStream::from(owned);
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        if peer.port() != port || !peer.ip().is_loopback() {
            continue;
        }
        assert!(
            stream.nodelay().unwrap(),
            "a connection to PostgreSQL ({peer}) waits to fill its segments"
        );
        checked += 1;
    }
    assert!(checked > 0, "no connection to PostgreSQL found");
}
