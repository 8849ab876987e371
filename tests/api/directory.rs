//! Directory reads that portal forms fill their drop-downs from.

use crate::case;
use macro_rules_attribute::apply;

use reqwest::{Method, StatusCode};

use crate::helpers::apps;

#[apply(case!)]
async fn agencies_fields_and_units_are_listed_and_filtered() {
    for app in apps().await {
        let all = app
            .send(Method::GET, "/api/v1/agencies", "/api/v1/agencies", |r| r)
            .await;
        assert_eq!(all.status, StatusCode::OK);
        assert!(all.header("cache-control").unwrap().contains("max-age"));
        let items = all.body["items"].as_array().unwrap();
        let vp = items
            .iter()
            .find(|a| a["code"] == "48.VP")
            .expect("the receiving office");
        assert_eq!(vp["is_receiving_office"], true);
        assert_eq!(vp["parent_code"], "48.UBND");
        assert_eq!(vp["is_demo"], true);
        assert_eq!(
            items
                .iter()
                .filter(|a| a["kind"] == "so" && a["province_code"] == "48")
                .count(),
            10
        );

        let by_field = app
            .send(
                Method::GET,
                "/api/v1/agencies",
                "/api/v1/agencies?field_code=ho_tich&level=tinh",
                |r| r,
            )
            .await;
        let codes: Vec<&str> = by_field.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, vec!["48.STP"], "[{}]", app.backend);

        let bad = app
            .send(
                Method::GET,
                "/api/v1/agencies",
                "/api/v1/agencies?include_inactive=perhaps",
                |r| r,
            )
            .await;
        assert_eq!(
            (bad.status, bad.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_request"))
        );

        let fields = app
            .send(Method::GET, "/api/v1/fields", "/api/v1/fields", |r| r)
            .await;
        let names: Vec<&str> = fields.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names[..3], ["Đất đai", "Xây dựng", "Hộ tịch"]);

        let provinces = app
            .send(
                Method::GET,
                "/api/v1/administrative-units",
                "/api/v1/administrative-units",
                |r| r,
            )
            .await;
        assert_eq!(
            provinces.body["items"].as_array().unwrap().len(),
            34,
            "34 provincial units since 2025"
        );
        let communes = app
            .send(
                Method::GET,
                "/api/v1/administrative-units",
                "/api/v1/administrative-units?province_code=48",
                |r| r,
            )
            .await;
        let communes = communes.body["items"].as_array().unwrap();
        assert!(
            communes
                .iter()
                .any(|c| c["code"] == "20242" && c["name"] == "Phường Hải Châu")
        );
        assert!(
            communes
                .iter()
                .all(|c| c["province_code"] == "48" && c["level"] == "commune")
        );
    }
}
