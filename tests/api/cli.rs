//! The `pakn` binary: commands, configuration layering and its errors.

use crate::case_once;
use macro_rules_attribute::apply;

use std::process::Command;

pub fn pakn(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pakn"));
    cmd.current_dir(dir)
        .env_remove("PAKN_CONFIG")
        .env("RUST_LOG", "error");
    for (key, _) in std::env::vars() {
        if key.starts_with("PAKN__") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `pakn recount ARGS` against `app`'s database: whether it exited 0, and
/// its JSON report.
pub fn recount(app: &crate::helpers::TestApp, args: &[&str]) -> (bool, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = pakn(dir.path())
        .arg("recount")
        .args(args)
        .env("PAKN__DATABASE__URL", &app.database_url)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.success(), report)
}

#[apply(case_once!)]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = pakn(dir.path()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for command in [
        "serve",
        "migrate",
        "demo-data",
        "calendar",
        "scheduler",
        "notices",
        "recount",
    ] {
        assert!(text.contains(command), "--help lists {command}: {text}");
    }
}

#[apply(case_once!)]
fn environment_overrides_settings_and_migrations_report_status() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x/pakn.db").display());
    let status = pakn(dir.path())
        .args(["migrate", "status"])
        .env("PAKN__DATABASE__URL", &url)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .lines()
            .all(|l| l.starts_with("pending "))
    );
    assert!(
        dir.path().join("x/pakn.db").exists(),
        "the database file and its directory are created"
    );

    let up = pakn(dir.path())
        .args(["migrate", "up"])
        .env("PAKN__DATABASE__URL", &url)
        .output()
        .unwrap();
    assert!(up.status.success());
    let status = pakn(dir.path())
        .args(["migrate", "status"])
        .env("PAKN__DATABASE__URL", &url)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .lines()
            .all(|l| l.starts_with("applied "))
    );

    for _ in 0..2 {
        let demo = pakn(dir.path())
            .arg("demo-data")
            .env("PAKN__DATABASE__URL", &url)
            .output()
            .unwrap();
        assert!(
            demo.status.success(),
            "demo-data is idempotent: {}",
            String::from_utf8_lossy(&demo.stderr)
        );
    }
}

#[apply(case_once!)]
fn unknown_keys_and_bad_values_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("typo.toml"),
        "[server]\nbindd = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = pakn(dir.path())
        .args(["--config", "typo.toml", "migrate", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "EX_CONFIG");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bindd"),
        "the unknown key is named"
    );

    let out = pakn(dir.path())
        .args(["migrate", "status"])
        .env("PAKN__SERVER__BINDD", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "unknown environment keys too");

    let out = pakn(dir.path())
        .args(["migrate", "status"])
        .env("PAKN__INTAKE__IDEMPOTENCY_RETENTION_HOURS", "100000000000")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(78),
        "an absurd retention is refused at start-up, not a panic later"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("idempotency_retention_hours"));

    let out = pakn(dir.path())
        .args(["migrate", "status"])
        .env("PAKN__PROVINCE__CODE", "480")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("province.code"));
}

#[apply(case_once!)]
fn the_effective_configuration_is_printed_on_request_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let password_url = "postgres://pakn:hunter2@127.0.0.1:1/none";
    let out = pakn(dir.path())
        .arg("config")
        .env("PAKN__DATABASE__URL", password_url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed["database"]["url"],
        "postgres://pakn:***@127.0.0.1:1/none"
    );
    assert_eq!(printed["province"]["kind"], "thanh_pho");
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!all.contains("hunter2"), "the password is never printed");
    // Other commands no longer log it on every run.
    let out = pakn(dir.path())
        .args(["migrate", "status"])
        .env("RUST_LOG", "info")
        .env("PAKN__DATABASE__URL", password_url)
        .env("PAKN__DATABASE__CONNECT_TIMEOUT_SECONDS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("effective configuration"), "{stderr}");
    assert!(!stderr.contains("hunter2"));
    assert!(!out.status.success(), "nothing listens on port 1");
}

/// `pakn serve` stops cleanly on SIGTERM (exit 0), after serving.
#[apply(case_once!)]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = pakn(dir.path())
        .arg("serve")
        .env("RUST_LOG", "info")
        .env("PAKN__SERVER__BIND", "127.0.0.1:0")
        .env("PAKN__LOG__FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut logged_configuration = false;
    let address = loop {
        let line = lines.next().expect("serve logs until it listens").unwrap();
        logged_configuration |= line.contains("effective configuration");
        if line.contains("\"listening\"") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["address"].as_str().unwrap().to_string();
        }
    };
    assert!(logged_configuration, "serve logs its configuration");
    assert!(
        dir.path().join("data/pakn.db").exists(),
        "the embedded default creates data/pakn.db"
    );
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "demo directory loaded on first start: {response}"
    );
    // One demo account per role, printed once on standard output; the
    // admin's password signs in.
    let mut accounts = Vec::new();
    for line in out.by_ref() {
        let line = line.unwrap();
        if accounts.len() == 7 {
            break;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() == 4 && fields[3].starts_with("48.") {
            accounts.push((
                fields[0].to_string(),
                fields[1].to_string(),
                fields[2].to_string(),
            ));
        }
    }
    let roles: Vec<&str> = accounts.iter().map(|a| a.2.as_str()).collect();
    assert_eq!(
        roles,
        [
            "admin",
            "control_office",
            "agency_officer",
            "agency_lead",
            "agency_officer",
            "agency_lead",
            "auditor"
        ]
    );
    let (_, password, _) = &accounts[0];
    let body = format!(r#"{{"username":"admin","password":"{password}"}}"#);
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("pakn_st_"));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::spawn(move || lines.for_each(drop));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "serve did not stop"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "graceful stop exits 0: {status:?}");
}

#[apply(case_once!)]
fn the_calendar_is_shown_in_three_formats_and_edited_with_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pakn.db").display());
    let run = |args: &[&str]| {
        let out = pakn(dir.path())
            .args(args)
            .env("PAKN__DATABASE__URL", &url)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, text, err) = run(&["calendar", "2026"]);
    assert!(ok, "{err}");
    assert!(text.starts_with("Năm 2026: 249 ngày làm việc"), "{text}");
    assert!(text.contains("2026-01-10 Thứ Bảy") && text.contains("làm việc"));
    let (_, json, _) = run(&["calendar", "2026", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["working_days"], 249);
    let (_, ics, _) = run(&["calendar", "2026", "--format", "ics"]);
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));

    // An administrator adds a day off: one more revision, one fewer
    // working day, and the change is in the audit log.
    let (ok, out, err) = run(&[
        "calendar",
        "set",
        "2026-12-31",
        "--kind",
        "day_off",
        "--name",
        "Nghỉ cuối năm",
        "--source",
        "Quyết định thử",
        "--by",
        "admin.tester",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("calendar version 3"), "{out}");
    let (_, json, _) = run(&["calendar", "2026", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["working_days"], 248);
    assert_eq!(json["edited_by_admin"], true);

    // A mistake is refused with the reason, and changes nothing.
    let (ok, _, err) = run(&[
        "calendar",
        "set",
        "2026-12-26",
        "--kind",
        "day_off",
        "--name",
        "x",
        "--source",
        "y",
        "--by",
        "admin.tester",
    ]);
    assert!(!ok);
    assert!(err.contains("weekend"), "{err}");
    let (ok, out, _) = run(&["calendar", "remove", "2026-12-31", "--by", "admin.tester"]);
    assert!(ok && out.contains("calendar version 4"), "{out}");
    let (ok, out, _) = run(&["scheduler"]);
    assert!(ok && out.contains("\"notices_queued\""), "{out}");
}

#[apply(case_once!)]
fn staff_accounts_are_added_listed_and_disabled_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pakn.db").display());
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = pakn(dir.path())
            .args(args)
            .env("PAKN__DATABASE__URL", &url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run(&["demo-data"], None).0);
    let (ok, out, err) = run(
        &[
            "staff",
            "add",
            "--username",
            "Nguyen.Van.A",
            "--role",
            "agency_officer",
            "--agency",
            "48.SXD",
        ],
        None,
    );
    assert!(ok, "{err}");
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(fields[0], "nguyen.van.a");
    assert_eq!(fields[1].len(), 20, "a generated password, printed once");
    let (ok, _, err) = run(
        &[
            "staff",
            "add",
            "--username",
            "tran.b",
            "--role",
            "auditor",
            "--agency",
            "48.VP",
            "--password-stdin",
        ],
        Some("một mật khẩu đủ dài\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "staff",
            "add",
            "--username",
            "le.c",
            "--role",
            "auditor",
            "--agency",
            "48.VP",
            "--password-stdin",
        ],
        Some("ngắn\n"),
    );
    assert!(!ok && err.contains("at least 12"), "{err}");
    let (ok, _, err) = run(
        &[
            "staff",
            "add",
            "--username",
            "x.y",
            "--role",
            "boss",
            "--agency",
            "48.VP",
        ],
        None,
    );
    assert!(!ok && err.contains("unknown role"), "{err}");
    let (ok, _, err) = run(
        &[
            "staff",
            "add",
            "--username",
            "x.y",
            "--role",
            "admin",
            "--agency",
            "99.XX",
        ],
        None,
    );
    assert!(!ok && err.contains("no agency"), "{err}");
    let (ok, _, _) = run(
        &[
            "staff",
            "add",
            "--username",
            "NGUYEN.VAN.A",
            "--role",
            "admin",
            "--agency",
            "48.VP",
        ],
        None,
    );
    assert!(!ok, "usernames are unique whatever the case");

    assert!(run(&["staff", "disable", "tran.b"], None).0);
    let (_, list, _) = run(&["staff", "list"], None);
    assert!(
        list.contains("nguyen.van.a") && list.contains("agency_officer") && list.contains("48.SXD")
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("tran.b") && l.contains("disabled"))
    );
    assert!(!list.contains(fields[1]), "passwords are never listed");
    assert!(!run(&["staff", "disable", "nobody"], None).0);
}

#[apply(case_once!)]
fn api_keys_are_created_once_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pakn.db").display());
    let run = |args: &[&str]| {
        let out = pakn(dir.path())
            .args(args)
            .env("PAKN__DATABASE__URL", &url)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, key, err) = run(&[
        "api-key",
        "add",
        "--name",
        "bao-cao",
        "--scope",
        "read_statistics",
        "--by",
        "admin",
    ]);
    assert!(ok, "{err}");
    let key = key.trim().to_string();
    assert!(key.starts_with("pakn_ak_") && key.len() == 72, "{key}");
    let (ok, _, err) = run(&[
        "api-key",
        "add",
        "--name",
        "x1x",
        "--scope",
        "everything",
        "--by",
        "admin",
    ]);
    assert!(!ok && err.contains("unknown scope"), "{err}");
    let (_, list, _) = run(&["api-key", "list"]);
    assert!(
        list.contains("bao-cao") && list.contains("read_statistics") && list.contains("active")
    );
    assert!(!list.contains(&key[8..]), "the key is never listed");
    assert!(run(&["api-key", "revoke", "bao-cao"]).0);
    assert!(run(&["api-key", "list"]).1.contains("revoked"));
    assert!(!run(&["api-key", "revoke", "bao-cao"]).0, "already revoked");
}

#[apply(case_once!)]
fn an_agency_succession_is_previewed_then_applied_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pakn.db").display());
    let run = |args: &[&str]| {
        let out = pakn(dir.path())
            .args(args)
            .env("PAKN__DATABASE__URL", &url)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run(&["demo-data"]).0);
    let (ok, out, err) = run(&[
        "staff",
        "add",
        "--username",
        "sct.cv",
        "--role",
        "agency_officer",
        "--agency",
        "48.SCT",
    ]);
    assert!(ok, "{err}{out}");
    let today = pakn::domain::time::vietnam_date(chrono::Utc::now()).to_string();
    let args = [
        "agency",
        "succession",
        "--from",
        "48.SCT,48.SKHCN",
        "--to",
        "48.STC",
        "--on",
        &today,
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let (ok, out, err) = run(&dry);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("preview (nothing changed): Sở Tài chính"),
        "{out}"
    );
    assert!(out.contains("48.SCT") && out.contains("staff 1"), "{out}");
    let (ok, out, err) = run(&args);
    assert!(ok, "{err}");
    assert!(out.starts_with("applied:"), "{out}");
    let (_, listed, _) = run(&["staff", "list"]);
    assert!(
        listed.contains("sct.cv") && listed.contains("48.STC"),
        "{listed}"
    );
    // Again: refused with the reason, exit status non-zero.
    let (ok, _, err) = run(&args);
    assert!(!ok);
    assert!(err.contains("dissolved_agency"), "{err}");
    let (ok, _, err) = run(&[
        "agency",
        "succession",
        "--from",
        "48.SXD",
        "--to",
        "48.STC",
        "--on",
        &today,
        "--field",
        "nonsense",
    ]);
    assert!(!ok);
    assert!(err.contains("FIELD=CODE"), "{err}");
}

/// A reader that goes away early (`pakn calendar 2026 | head -1`) ends the
/// command quietly, never with a panic.
#[apply(case_once!)]
fn a_closed_pipe_ends_a_listing_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = pakn(dir.path())
        .args(["calendar", "2026"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the command has started writing.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

#[apply(case_once!)]
fn webhooks_are_subscribed_listed_and_delivered_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pakn.db").display());
    let run = |args: &[&str], private: bool| {
        let out = pakn(dir.path())
            .args(args)
            .env("PAKN__DATABASE__URL", &url)
            .env(
                "PAKN__WEBHOOKS__ALLOW_PRIVATE_TARGETS",
                if private { "true" } else { "false" },
            )
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run(&["demo-data"], false).0);
    for (name, role) in [("quan.tri", "admin"), ("kiem.soat", "control_office")] {
        let (ok, _, err) = run(
            &[
                "staff",
                "add",
                "--username",
                name,
                "--role",
                role,
                "--agency",
                "48.VP",
            ],
            false,
        );
        assert!(ok, "{err}");
    }
    let add = |by: &str, target: &str, private: bool| {
        run(
            &[
                "webhook",
                "add",
                "--name",
                "cong-tinh",
                "--url",
                target,
                "--event",
                "item.published",
                "--by",
                by,
            ],
            private,
        )
    };
    // Only an administrator; never a private target unless allowed.
    let (ok, _, err) = add("kiem.soat", "https://203.119.8.10/hook", false);
    assert!(!ok && err.contains("admin only"), "{err}");
    let (ok, _, err) = add("quan.tri", "https://10.0.0.1/hook", false);
    assert!(!ok && err.contains("target_not_allowed"), "{err}");
    let (ok, secret, err) = add("quan.tri", "http://127.0.0.1:9/hook", true);
    assert!(ok, "{err}");
    assert!(secret.trim().starts_with("whsec_"), "{secret}");
    let (_, list, _) = run(&["webhook", "list"], false);
    assert!(
        list.contains("cong-tinh") && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(secret.trim()), "the secret is never listed");
    // A pass with nothing due.
    let (ok, report, err) = run(&["webhook", "deliver"], true);
    assert!(ok, "{err}");
    assert_eq!(
        report.trim(),
        r#"{"delivered":0,"retried":0,"dead":0,"skipped":0}"#
    );
    assert!(
        run(
            &["webhook", "remove", "cong-tinh", "--by", "quan.tri"],
            false
        )
        .0
    );
    assert!(run(&["webhook", "list"], false).1.contains("removed"));
    assert!(
        !run(
            &["webhook", "remove", "cong-tinh", "--by", "quan.tri"],
            false
        )
        .0
    );
}
