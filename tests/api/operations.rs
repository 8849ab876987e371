//! Health, request IDs, security headers, unknown routes and methods, and
//! behaviour without a configured directory.

use crate::case;
use macro_rules_attribute::apply;

use reqwest::{Method, StatusCode};

use crate::helpers::{apps, apps_with, valid_submission};

#[apply(case!)]
async fn health_endpoints_report_liveness_and_readiness() {
    for app in apps().await {
        let live = app
            .send(Method::GET, "/health/live", "/health/live", |r| r)
            .await;
        assert_eq!(
            (live.status, live.body["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
        let ready = app
            .send(Method::GET, "/health/ready", "/health/ready", |r| r)
            .await;
        assert_eq!(
            (ready.status, ready.body["status"].as_str()),
            (StatusCode::OK, Some("ready"))
        );
    }
}

#[apply(case!)]
async fn without_a_receiving_office_the_service_says_so_and_stores_nothing() {
    for app in apps_with(|s| s.database.demo_data = pakn::config::DemoData::Never).await {
        let ready = app
            .send(Method::GET, "/health/ready", "/health/ready", |r| r)
            .await;
        assert_eq!(
            (ready.status, ready.body["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("not_configured"))
        );
        let mut body = valid_submission();
        body.as_object_mut().unwrap().remove("field_code");
        body["submitter"]["address"]
            .as_object_mut()
            .unwrap()
            .remove("commune_code");
        body["submitter"]["address"]
            .as_object_mut()
            .unwrap()
            .remove("province_code");
        let reply = app.post_feedback(&body).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert!(reply.header("retry-after").is_some());
        assert_eq!(app.store.count_feedback().await.unwrap(), 0);
    }
}

#[apply(case!)]
async fn request_ids_are_echoed_and_quoted_in_errors() {
    for app in apps().await {
        let reply = app
            .send(
                Method::GET,
                "/api/v1/feedback/{tracking_code}",
                "/api/v1/feedback/PAKN.48.20261122.0001",
                |r| {
                    r.header("X-Request-Id", "portal-abc.123")
                        .header("X-Lookup-Token", "x")
                },
            )
            .await;
        assert_eq!(reply.header("x-request-id"), Some("portal-abc.123"));
        assert_eq!(reply.body["request_id"], "portal-abc.123");
        let hostile = app
            .send(Method::GET, "/health/live", "/health/live", |r| {
                r.header("X-Request-Id", "<script>alert(1)</script>")
            })
            .await;
        let id = hostile.header("x-request-id").unwrap();
        assert!(
            !id.contains('<') && uuid::Uuid::parse_str(id).is_ok(),
            "a hostile ID is replaced"
        );
    }
}

#[apply(case!)]
async fn every_response_carries_the_security_headers() {
    for app in apps().await {
        for reply in [
            app.send(Method::GET, "/health/live", "/health/live", |r| r)
                .await,
            app.post_feedback(&serde_json::json!({})).await,
        ] {
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(reply.header("x-frame-options"), Some("DENY"));
            assert!(
                reply
                    .header("content-security-policy")
                    .unwrap()
                    .contains("frame-ancestors 'none'")
            );
            assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        }
    }
}

#[apply(case!)]
async fn unknown_paths_and_methods_get_problem_json() {
    for app in apps().await {
        let response = app
            .client
            .get(format!("{}/khong-co", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found");

        let response = app
            .client
            .delete(format!("{}/api/v1/feedback", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "POST");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
    }
}

/// Every GET route answers HEAD with GET's status and headers and no body
/// (uptime monitors send HEAD; it used to be 405 everywhere).
#[apply(case!)]
async fn every_get_route_answers_head_as_get_without_a_body() {
    for app in apps().await {
        let routes: Vec<String> = pakn::web::endpoints()
            .into_iter()
            .filter(|e| e.method == actix_web::http::Method::GET)
            .map(|e| {
                // A concrete path: every parameter a plausible value.
                let mut path = String::new();
                let mut rest = e.path;
                while let Some(open) = rest.find('{') {
                    path.push_str(&rest[..open]);
                    let close = rest[open..].find('}').unwrap() + open;
                    path.push_str(match &rest[open + 1..close] {
                        "year" => "2026",
                        _ => "48-2026-000001",
                    });
                    rest = &rest[close + 1..];
                }
                path.push_str(rest);
                path
            })
            .collect();
        assert!(routes.len() > 60, "{} GET routes", routes.len());
        for path in routes {
            let url = format!("{}{}", app.base, path);
            let get = app.client.get(&url).send().await.unwrap();
            let head = app.client.head(&url).send().await.unwrap();
            assert_eq!(head.status(), get.status(), "HEAD {path}");
            assert_ne!(head.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(
                head.headers().get("content-type"),
                get.headers().get("content-type"),
                "HEAD {path}"
            );
            drop(get);
            assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path} body");
        }
        // The 405 for other methods names HEAD beside GET.
        let response = app
            .client
            .delete(format!("{}/health/live", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        let live = app
            .client
            .head(format!("{}/health/live", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), StatusCode::OK);
    }
}

#[apply(case!)]
async fn submissions_are_rate_limited_per_client_with_retry_after() {
    for app in apps_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.submissions_per_minute = 1;
        s.rate_limit.submission_burst = 2;
    })
    .await
    {
        assert_eq!(
            app.post_feedback(&valid_submission()).await.status,
            StatusCode::CREATED
        );
        assert_eq!(
            app.post_feedback(&valid_submission()).await.status,
            StatusCode::CREATED
        );
        let limited = app.post_feedback(&valid_submission()).await;
        assert_eq!(
            (limited.status, limited.body["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
            "[{}]",
            app.backend
        );
        assert!(
            limited
                .header("retry-after")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
        assert_eq!(app.store.count_feedback().await.unwrap(), 2);
    }
}
