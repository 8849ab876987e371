//! The retention policy: once its period has run out, a settled item's
//! contact data is nowhere in the database — searched for in every text and
//! binary column of every table — while the item, its answer, its history
//! and the statistics stay exactly as they were.

use chrono::{Duration, Utc};
use macro_rules_attribute::apply;
use pakn::domain::staff::Role;
use pakn::services::retention;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

use crate::auth::sign_in_as;
use crate::case;
use crate::helpers::{TestApp, apps_with};
use crate::mail::deliver_to_files;
use crate::stats::stats;
use crate::workflow::step;

/// How many cells of the whole database contain `needle`.
async fn occurrences(app: &TestApp, needle: &str) -> i64 {
    let db = app.store.connection();
    let backend = db.get_database_backend();
    let columns: Vec<(String, String, String)> = match backend {
        DbBackend::Sqlite => {
            let tables = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT name FROM sqlite_master WHERE type = 'table'".to_string(),
                ))
                .await
                .unwrap();
            let mut out = Vec::new();
            for t in tables {
                let table: String = t.try_get_by_index(0).unwrap();
                let cols = db
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT name, type FROM pragma_table_info('{table}')"),
                    ))
                    .await
                    .unwrap();
                for c in cols {
                    out.push((
                        table.clone(),
                        c.try_get_by_index(0).unwrap(),
                        c.try_get_by_index::<String>(1).unwrap_or_default(),
                    ));
                }
            }
            out
        }
        _ => db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public'"
                    .to_string(),
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.try_get_by_index(0).unwrap(),
                    r.try_get_by_index(1).unwrap(),
                    r.try_get_by_index(2).unwrap(),
                )
            })
            .collect(),
    };
    let mut found = 0;
    for (table, column, kind) in columns {
        let condition = match backend {
            DbBackend::Sqlite => format!("instr(CAST(\"{column}\" AS BLOB), CAST($1 AS BLOB)) > 0"),
            _ if kind == "bytea" => format!("position(convert_to($1, 'UTF8') in \"{column}\") > 0"),
            _ if [
                "text",
                "character varying",
                "json",
                "jsonb",
                "tsvector",
                "character",
            ]
            .contains(&kind.as_str()) =>
            {
                format!("strpos(\"{column}\"::text, $1) > 0")
            }
            _ => continue,
        };
        let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE {condition}");
        let sql = if backend == DbBackend::Sqlite {
            sql.replace("$1", "?")
        } else {
            sql
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [needle.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get_by_index(0).unwrap();
        if n > 0 {
            eprintln!("[{}] {needle:?} in {table}.{column} ({n})", app.backend);
        }
        found += n;
    }
    found
}

const MARKER: &str = "TAI-LIEU-RIENG-4711";
const PERSONAL: [&str; 5] = [
    "Hoàng Thị Lưu Trữ",
    "99 Đường Riêng Tư",
    "987654321",
    "luu.tru@example.vn",
    MARKER,
];

#[apply(case!)]
async fn retention_removes_every_trace_of_contact_data_and_keeps_item_answer_and_figures() {
    for app in apps_with(|s| s.retention.contact_data_days = 30).await {
        let control = sign_in_as(&app, "kiemsoat.rt", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.rt", Role::Auditor, "48.VP").await;
        let file = format!("%PDF-1.4\n% {MARKER}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
        let form = Form::new()
            .text("kind", "phan_anh")
            .text("title", "Thủ tục đăng ký kinh doanh kéo dài")
            .text(
                "content",
                "Hồ sơ đăng ký kinh doanh nộp từ lâu nhưng chưa được giải quyết theo thời hạn quy định.",
            )
            .text("submitter.full_name", "Hoàng Thị Lưu Trữ")
            .text("submitter.address.detail", "99 Đường Riêng Tư")
            .text("submitter.phone", "0987 654 321")
            .text("submitter.email", "luu.tru@example.vn")
            .part("attachments", Part::bytes(file.into_bytes()).file_name("ban-sao.pdf"));
        let r = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.multipart(form)
            })
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        let token = r.body["lookup_token"].as_str().unwrap().to_string();
        step(
            &app,
            &control,
            &code,
            "reject",
            json!({"reason_code": "R02", "note": "Nội dung tố cáo cán bộ"}),
        )
        .await;
        // The acknowledgement and the refusal went to the address.
        deliver_to_files(&app).await;
        for needle in PERSONAL {
            assert!(
                occurrences(&app, needle).await > 0,
                "{needle} is stored at first"
            );
        }
        let period = "period=2026";
        let figures = stats(&app, &auditor, period).await.body;

        // Not yet due today; due a month on, and a dry run changes nothing.
        let today = retention::run(&app.store, &app.settings, Utc::now(), false, "test")
            .await
            .unwrap();
        assert_eq!((today.due, today.erased), (0, 0));
        let later = Utc::now() + Duration::days(31);
        let dry = retention::run(&app.store, &app.settings, later, true, "test")
            .await
            .unwrap();
        assert_eq!((dry.due, dry.erased), (1, 0));
        assert!(occurrences(&app, "Hoàng Thị Lưu Trữ").await > 0);

        let done = retention::run(&app.store, &app.settings, later, false, "test")
            .await
            .unwrap();
        assert_eq!(done.erased, 1, "{done:?}");
        let again = retention::run(&app.store, &app.settings, later, false, "test")
            .await
            .unwrap();
        assert_eq!((again.due, again.erased), (0, 0), "resumable, never twice");

        for needle in PERSONAL {
            assert_eq!(
                occurrences(&app, needle).await,
                0,
                "[{}] {needle} is still in the database",
                app.backend
            );
        }
        // The item stays, opened by its token, with its history and the
        // record of what was done; the figures are exactly as before.
        let view = app.lookup(&code, &token).await;
        assert_eq!(view.status, StatusCode::OK);
        assert_eq!(view.body["status"], "not_accepted");
        let item = app.staff_get(&control, &code, "").await;
        let actions: Vec<&str> = item.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert!(actions.contains(&"feedback.contact_erased"), "{actions:?}");
        assert_eq!(stats(&app, &auditor, period).await.body, figures);
    }
}
