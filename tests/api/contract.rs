//! openapi.yaml is the contract: the routes the app registers and the
//! documented operations are the same set, and every response a test sees
//! has a documented status, media type and body.

use crate::{case, case_once};
use macro_rules_attribute::apply;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{apps, valid_submission};

pub static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    serde_yaml_ng::from_str(&text).expect("openapi.yaml is YAML")
});

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            SPEC.pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"))
        }
        None => value,
    }
}

/// Fails the test unless the response is one the spec documents.
pub fn assert_matches_spec(
    method: &Method,
    template: &str,
    status: StatusCode,
    content_type: &str,
    body: &Value,
    backend: &str,
) {
    let op = SPEC["paths"][template][method.as_str().to_lowercase()].clone();
    assert!(
        op.is_object(),
        "[{backend}] {method} {template} is not documented"
    );
    let responses = &op["responses"];
    let documented = responses.get(status.as_str()).map(resolve);
    let Some(response) = documented else {
        panic!(
            "[{backend}] {method} {template} answered {status}, which the spec does not document; body: {body}"
        );
    };
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return;
    };
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some(media_spec) = content.get(media) else {
        panic!(
            "[{backend}] {method} {template} {status}: media type {media:?} not documented (have {:?})",
            content.keys().collect::<Vec<_>>()
        );
    };
    let Some(schema) = media_spec.get("schema") else {
        return;
    };
    // An event stream is checked event by event, each parsed as a client
    // (and schemathesis) parses it: `data:` lines joined, `event` defaulting
    // to "message", comments and data-less events skipped.
    let instances: Vec<Value> = if media == "text/event-stream" {
        sse_events(body.as_str().unwrap_or_default())
    } else if media.contains("json") {
        vec![body.clone()]
    } else {
        return;
    };
    let mut root = schema.clone();
    if let Some(obj) = root.as_object_mut() {
        obj.insert("components".into(), SPEC["components"].clone());
        obj.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
    }
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema for {method} {template} {status} is invalid: {e}"));
    let errors: Vec<String> = instances
        .iter()
        .flat_map(|instance| validator.iter_errors(instance))
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "[{backend}] {method} {template} {status}: body breaks the spec: {errors:#?}\nbody: {body:#}"
    );
}

/// The events of a `text/event-stream` body, as the HTML standard's parser
/// reads them.
fn sse_events(stream: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for block in stream.replace("\r\n", "\n").split("\n\n") {
        let mut data: Vec<&str> = Vec::new();
        let mut event = json!({});
        for line in block.lines() {
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => data.push(value),
                "event" | "id" => event[field] = json!(value),
                "retry" => {
                    if let Ok(ms) = value.parse::<u64>() {
                        event["retry"] = json!(ms);
                    }
                }
                _ => {}
            }
        }
        if data.is_empty() {
            continue;
        }
        event["data"] = json!(data.join("\n"));
        if event.get("event").is_none() {
            event["event"] = json!("message");
        }
        events.push(event);
    }
    events
}

#[apply(case_once!)]
fn an_event_stream_is_read_event_by_event() {
    let events =
        sse_events(": keep-alive\n\ndata: <p>\ndata: x</p>\n\nevent: ping\nretry: 5\ndata:\n\n");
    assert_eq!(
        events,
        vec![
            json!({"data": "<p>\nx</p>", "event": "message"}),
            json!({"data": "", "event": "ping", "retry": 5}),
        ]
    );
}

fn documented_operations() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in SPEC["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[apply(case_once!)]
fn the_route_table_and_the_spec_list_the_same_operations() {
    let served: BTreeSet<(String, String)> = pakn::web::endpoints()
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    let documented = documented_operations();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in openapi.yaml but not served: {unserved:?}"
    );
}

#[apply(case_once!)]
fn every_operation_has_an_id_and_every_error_is_problem_json() {
    let mut ids = BTreeSet::new();
    for (path, item) in SPEC["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{m} {path} has no operationId"));
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            for (status, response) in op["responses"].as_object().unwrap() {
                if path.starts_with("/open311/") && status != "405" {
                    // The Open311 standard has its own error list, in the
                    // format the path asks for.
                    let response = resolve(response);
                    for media in ["application/json", "text/xml"] {
                        assert!(
                            response["content"].get(media).is_some(),
                            "{m} {path} {status} must document the Open311 {media} errors"
                        );
                    }
                    continue;
                }
                if status.starts_with('4') || status.starts_with('5') {
                    let response = resolve(response);
                    assert!(
                        response["content"]
                            .get("application/problem+json")
                            .is_some(),
                        "{m} {path} {status} is not problem+json"
                    );
                }
            }
            assert!(
                op["responses"].get("405").is_some(),
                "{m} {path} must document 405"
            );
        }
    }
}

/// Every documented operation is routed on a running server (not the
/// catch-all 404 or a 405), on every backend.
#[apply(case!)]
async fn every_documented_operation_is_served() {
    for app in apps().await {
        for (method, template) in documented_operations() {
            let path = template
                .replace("{tracking_code}", "PAKN.48.20261122.0001")
                .replace("{year}", "2026")
                .replace("{date}", "2026-12-31")
                .replace("{format}", "json");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = app
                .send(method.clone(), &template, &path, |r| {
                    if method == Method::POST {
                        r.json(&json!({}))
                    } else {
                        r
                    }
                })
                .await;
            let code = reply.body["code"].as_str().unwrap_or_default();
            assert!(
                code != "not_found" && code != "method_not_allowed",
                "[{}] {method} {template} is not served: {}",
                app.backend,
                reply.body
            );
        }
    }
}

#[apply(case!)]
async fn the_spec_is_served_and_examples_are_accepted() {
    for app in apps().await {
        let reply = app
            .send(
                Method::GET,
                "/api/v1/openapi.yaml",
                "/api/v1/openapi.yaml",
                |r| r,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.body.as_str().unwrap().starts_with("openapi: 3.1.0"));
        let example =
            SPEC["paths"]["/api/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]
                ["examples"]["individual"]["value"]
                .clone();
        let reply = app.post_feedback(&example).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "[{}] the documented example is accepted: {}",
            app.backend,
            reply.body
        );
        let _ = valid_submission();
    }
}

/// The document itself holds together: OpenAPI 3.1, every `$ref` resolves,
/// every component schema is valid JSON Schema (draft 2020-12).
#[apply(case_once!)]
fn the_spec_is_a_sound_openapi_3_1_document() {
    assert!(
        SPEC["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1."))
    );
    fn walk(v: &Value, refs: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r.clone());
                }
                map.values().for_each(|x| walk(x, refs));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, refs)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(&SPEC, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(
            r.starts_with("#/") && SPEC.pointer(&r[1..]).is_some(),
            "dangling $ref {r}"
        );
    }
    for (name, schema) in SPEC["components"]["schemas"].as_object().unwrap() {
        let mut root = schema.clone();
        root.as_object_mut()
            .unwrap()
            .insert("components".into(), SPEC["components"].clone());
        assert!(
            jsonschema::draft202012::new(&root).is_ok(),
            "components.schemas.{name} is not valid JSON Schema"
        );
    }
}
