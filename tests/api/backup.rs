//! Backups taken while the service works, restored into an empty database
//! on which the service starts with every acknowledged item readable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use macro_rules_attribute::apply;
use reqwest::StatusCode;
use serde_json::Value;

use crate::case;
use crate::cli::pakn;
use crate::helpers::{fresh_database, spawn, spawn_at, valid_submission};

type Acked = Arc<Mutex<Vec<(String, String, Instant)>>>;

fn run_pakn(dir: &std::path::Path, url: &str, args: &[&str]) -> std::process::Output {
    pakn(dir)
        .args(args)
        .env("PAKN__DATABASE__URL", url)
        .env("PAKN__DATABASE__DEMO_DATA", "never")
        .output()
        .unwrap()
}

#[apply(case!)]
async fn a_backup_taken_under_load_restores_every_acknowledged_item_and_the_service_starts_on_it() {
    for backend in crate::harness::backends() {
        let app = Arc::new(spawn(backend, &|_| {}).await);
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Acked = Arc::default();
        let mut submitters = Vec::new();
        for _ in 0..4 {
            let (app, stop, acked) = (app.clone(), stop.clone(), acked.clone());
            submitters.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = app.post_feedback(&valid_submission()).await;
                    if r.status == StatusCode::CREATED {
                        let code = r.body["tracking_code"].as_str().unwrap().to_string();
                        let token = r.body["lookup_token"].as_str().unwrap().to_string();
                        acked.lock().unwrap().push((code, token, Instant::now()));
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(800)).await;

        // The backup, while submissions keep arriving.
        let work = tempfile::tempdir().unwrap();
        let file = work.path().join("pakn.backup");
        let began = Instant::now();
        let (dir, url, to) = (
            work.path().to_path_buf(),
            app.database_url.clone(),
            file.display().to_string(),
        );
        let out =
            tokio::task::spawn_blocking(move || run_pakn(&dir, &url, &["backup", "--to", &to]))
                .await
                .unwrap();
        assert!(
            out.status.success(),
            "[{backend}] backup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["database"], backend);
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        for s in submitters {
            s.await.unwrap();
        }
        let before: Vec<(String, String)> = acked
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, at)| *at < began)
            .map(|(c, t, _)| (c.clone(), t.clone()))
            .collect();
        assert!(
            before.len() >= 10,
            "[{backend}] only {} items before the backup",
            before.len()
        );

        // Never over an existing file.
        let again = run_pakn(
            work.path(),
            &app.database_url,
            &["backup", "--to", &file.display().to_string()],
        );
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));

        // Restored into a new, empty database …
        let target_dir = tempfile::tempdir().unwrap();
        let target = fresh_database(backend, &target_dir).await;
        let out = run_pakn(
            work.path(),
            &target,
            &["restore", "--from", &file.display().to_string()],
        );
        assert!(
            out.status.success(),
            "[{backend}] restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let restored_report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let items = restored_report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == "feedback_item")
            .unwrap()[1]
            .as_i64()
            .unwrap();
        assert!(items >= before.len() as i64);
        // … and never into one that has data.
        let twice = run_pakn(
            work.path(),
            &target,
            &["restore", "--from", &file.display().to_string()],
        );
        assert!(!twice.status.success());
        assert!(String::from_utf8_lossy(&twice.stderr).contains("not empty"));

        // The service starts on it; every item acknowledged before the
        // backup began opens with its token, with its audit trail.
        let restored = spawn_at(backend, target).await;
        for (code, token) in &before {
            let r = restored.lookup(code, token).await;
            assert_eq!(r.status, StatusCode::OK, "[{backend}] {code} after restore");
            let row = restored
                .store
                .find_feedback_by_code(&code.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            let events = restored
                .store
                .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(row.item.id))
                .await
                .unwrap();
            assert!(
                events.iter().any(|e| e.action.starts_with("feedback.")),
                "[{backend}] {code} has its audit trail"
            );
        }
    }
}
