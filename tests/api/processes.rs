//! Real `pakn serve` processes for the fleet and fault tests: started from
//! the built binary with settings in the environment (as an operator
//! would), listening on an ephemeral port on 127.0.0.1, logging JSON to a
//! file the test reads afterwards, and stopped with SIGTERM or SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::mail_servers::Imap;

pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub name: String,
    log: PathBuf,
}

impl Server {
    /// Starts `pakn serve` in `dir` with `env` on top of a clean
    /// environment (no PAKN__ variables of the caller's), and waits until
    /// it listens.
    pub fn start(dir: &Path, name: &str, env: &[(&str, String)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let already = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pakn"));
        cmd.current_dir(dir)
            .arg("serve")
            .env_remove("PAKN_CONFIG")
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
            .env("PAKN__LOG__FORMAT", "json")
            .env("PAKN__SERVER__BIND", "127.0.0.1:0")
            .env("PAKN__SERVER__WORKERS", "2")
            .env("PAKN__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "5")
            .env("PAKN__AUTH__DEMO_ACCOUNTS", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        for (key, _) in std::env::vars() {
            if key.starts_with("PAKN__") {
                cmd.env_remove(key);
            }
        }
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().expect("pakn serve starts");
        let started = Instant::now();
        let address = loop {
            let text = std::fs::read(&log).unwrap_or_default();
            let fresh = String::from_utf8_lossy(&text[already as usize..]).into_owned();
            if let Some(address) = fresh.lines().find_map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).ok()?;
                (v["fields"]["message"] == "listening" || v["message"] == "listening")
                    .then(|| v["fields"]["address"].as_str().or(v["address"].as_str()))?
                    .map(str::to_string)
            }) {
                break address;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{name} exited before listening ({status}):\n{fresh}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{name} did not listen within 60 s:\n{fresh}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Self {
            child: Some(child),
            base: format!("http://{address}"),
            name: name.to_string(),
            log,
        }
    }

    /// SIGKILL: no shutdown hook, no flush; what the kernel does to a
    /// process on an out-of-memory kill or a power cut of the container.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for the graceful stop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process's resident memory (kB), from /proc.
    pub fn rss_kb(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Everything the process logged so far (one JSON object per line).
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Fails if the log holds any detail of the test submitters (names,
    /// phones, street addresses from `valid_submission` and the mail
    /// corpus) or any of `addresses`.
    pub fn assert_no_personal_data(&self, addresses: &[&str]) {
        let log = self.log_text();
        let details = [
            "Nguyễn Văn An",
            "Lê Thị Hoa",
            "0912345678",
            "0912 345 678",
            "912345678",
            "12 Lê Lợi",
            "Hùng Vương",
        ];
        for personal in details.iter().chain(addresses) {
            assert!(!log.contains(personal), "{} logged {personal}", self.name);
        }
    }

    /// Log lines at ERROR level.
    pub fn errors(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains("\"level\":\"ERROR\""))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A PostgreSQL server of the test's own (initdb in a temporary
/// directory, 127.0.0.1 and a free port, trust auth), so a test can stop
/// and start it without touching the shared server other tests use.
/// Needs Debian's PostgreSQL binaries; as root they run as `postgres`.
pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    /// `None` when no PostgreSQL binaries are installed.
    pub fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let _ = Command::new("chmod").arg("777").arg(dir.path()).status();
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let pg = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        let init = pg
            .as_postgres("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&pg.data)
            .output()
            .expect("initdb runs");
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        pg.up();
        Some(pg)
    }

    fn as_postgres(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        // PostgreSQL refuses to run as root.
        if running_as_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        let socket_dir = self.data.parent().unwrap().to_path_buf();
        let out = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "30", "-l"])
            .arg(socket_dir.join("postgres.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=on",
                self.port,
                socket_dir.display()
            ))
            .arg("start")
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server the hard way (`immediate`: no checkpoint, every
    /// connection cut, as when the database host fails).
    pub fn down(&self) {
        let out = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "immediate", "stop"])
            .output()
            .expect("pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Settings that make a server poll `imap` every 5 s (the shortest).
pub fn polling(imap: &Imap) -> Vec<(&'static str, String)> {
    vec![
        ("PAKN__MAIL__IMAP__ENABLED", "true".to_string()),
        ("PAKN__MAIL__IMAP__HOST", "127.0.0.1".to_string()),
        ("PAKN__MAIL__IMAP__PORT", imap.port.to_string()),
        ("PAKN__MAIL__IMAP__SECURITY", "plain".to_string()),
        ("PAKN__MAIL__IMAP__USERNAME", imap.user.to_string()),
        ("PAKN__MAIL__IMAP__PASSWORD", imap.password.to_string()),
        ("PAKN__MAIL__IMAP__POLL_INTERVAL_SECONDS", "5".to_string()),
    ]
}

/// The single number `sql` (a count) answers.
pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("a count")
}
