//! GET /api/v1/feedback/{code}: the submitter sees their item with the
//! token; nobody learns anything without it.

use crate::case;
use macro_rules_attribute::apply;

use reqwest::{Method, StatusCode};

use crate::helpers::{apps, apps_with, valid_submission};

#[apply(case!)]
async fn the_token_opens_the_citizen_view() {
    for app in apps().await {
        let receipt = app.post_feedback(&valid_submission()).await;
        let code = receipt.body["tracking_code"].as_str().unwrap();
        let token = receipt.body["lookup_token"].as_str().unwrap();
        let view = app.lookup(code, token).await;
        assert_eq!(
            view.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            view.body
        );
        assert_eq!(view.body["tracking_code"], code);
        assert_eq!(view.body["status"], "received");
        assert_eq!(view.body["status_label"], "Đã tiếp nhận");
        assert_eq!(view.body["kind"], "phan_anh");
        assert_eq!(
            view.body["title"],
            receipt
                .body
                .get("title")
                .cloned()
                .unwrap_or(valid_submission()["title"].clone())
        );
        assert_eq!(view.body["received_at"], receipt.body["received_at"]);
        assert_eq!(
            view.body["handling_agency"]["code"], "48.VP",
            "the receiving office holds a new item"
        );
        assert!(view.body["answer"].is_null());
        assert!(view.header("cache-control").unwrap().contains("no-store"));
        let text = view.body.to_string();
        assert!(
            !text.contains("Nguyễn Văn An") && !text.contains("+84912345678"),
            "the view repeats no personal data"
        );

        // Retyped: lower case, no dashes, O for 0 and l for 1.
        let retyped = token
            .to_lowercase()
            .replace('-', "")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(app.lookup(code, &retyped).await.status, StatusCode::OK);
        // As a query parameter (links in e-mails).
        let path = format!("/api/v1/feedback/{code}?token={token}");
        assert_eq!(
            app.send(
                Method::GET,
                "/api/v1/feedback/{tracking_code}",
                &path,
                |r| r
            )
            .await
            .status,
            StatusCode::OK
        );
    }
}

#[apply(case!)]
async fn wrong_tokens_and_unknown_codes_look_the_same() {
    for app in apps().await {
        let receipt = app.post_feedback(&valid_submission()).await;
        let code = receipt.body["tracking_code"].as_str().unwrap().to_string();
        let other = app.post_feedback(&valid_submission()).await;
        let other_token = other.body["lookup_token"].as_str().unwrap();

        let wrong_token = app.lookup(&code, other_token).await;
        let unknown_code = app.lookup("PAKN.48.20200101.0001", other_token).await;
        let garbage_code = app.lookup("not-a-code", other_token).await;
        let garbage_token = app.lookup(&code, "xyz").await;
        for reply in [&wrong_token, &unknown_code, &garbage_code, &garbage_token] {
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "[{}]", app.backend);
            let mut body = reply.body.clone();
            body.as_object_mut().unwrap().remove("request_id");
            let mut first = wrong_token.body.clone();
            first.as_object_mut().unwrap().remove("request_id");
            assert_eq!(body, first, "[{}] indistinguishable answers", app.backend);
        }
        assert_eq!(wrong_token.body["code"], "feedback_not_found");

        let missing = app
            .send(
                Method::GET,
                "/api/v1/feedback/{tracking_code}",
                &format!("/api/v1/feedback/{code}"),
                |r| r,
            )
            .await;
        assert_eq!(
            (missing.status, missing.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("lookup_token_required"))
        );
    }
}

#[apply(case!)]
async fn lookups_are_rate_limited_per_client() {
    for app in apps_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.lookups_per_minute = 1;
        s.rate_limit.lookup_burst = 3;
    })
    .await
    {
        let statuses: Vec<StatusCode> = {
            let mut out = Vec::new();
            for _ in 0..4 {
                out.push(
                    app.lookup(
                        "PAKN.48.20261122.0001",
                        "0000-0000-0000-0000-0000-0000-0000",
                    )
                    .await
                    .status,
                );
            }
            out
        };
        assert_eq!(statuses[..3], [StatusCode::NOT_FOUND; 3]);
        assert_eq!(
            statuses[3],
            StatusCode::TOO_MANY_REQUESTS,
            "[{}]",
            app.backend
        );
        let limited = app.lookup("PAKN.48.20261122.0001", "x").await;
        assert!(
            limited
                .header("retry-after")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
        assert_eq!(limited.body["code"], "rate_limited");
    }
}
