//! Real mail servers for the e-mail tests, started and stopped by the
//! tests on 127.0.0.1 only: an SMTP sink (aiosmtpd from PyPI, writing a
//! Maildir) and an IMAP server (Dovecot from Debian). `.ci/run` installs
//! both and sets `PAKN_TEST_REQUIRE_MAIL_SERVERS=1`, so there a missing
//! server fails the run; on a developer's machine without them the tests
//! that need them say so and stop early.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port}");
}

/// Whether a missing server fails the test (CI) or skips it.
pub fn required() -> bool {
    std::env::var("PAKN_TEST_REQUIRE_MAIL_SERVERS").is_ok_and(|v| v == "1")
}

fn unavailable(what: &str, why: &str) -> Option<()> {
    if required() {
        panic!("{what} is required (PAKN_TEST_REQUIRE_MAIL_SERVERS=1) but {why}");
    }
    crate::harness::not_run(format!(
        "{what} not available ({why}); `.ci/run` installs it"
    ))
}

/// An SMTP server that keeps every message in a Maildir.
pub struct SmtpSink {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Option<Self> {
        let python = std::env::var("PAKN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let probe = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !probe.is_ok_and(|s| s.success()) {
            unavailable(
                "aiosmtpd",
                &format!("`{python} -c 'import aiosmtpd'` failed"),
            )?;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        wait_for_port(port, &mut child, "aiosmtpd");
        Some(Self { port, child, dir })
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.path().join("maildir").join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read(e.path()).expect("maildir file"));
                }
            }
        }
        out
    }

    /// Waits until a message for which `pick` holds has arrived.
    pub async fn wait_for(&self, pick: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            for m in self.messages() {
                let text = String::from_utf8_lossy(&m).into_owned();
                if pick(&text) {
                    return text;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no such message in the SMTP sink"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Dovecot IMAP server with one account (`intake` / `secret`).
pub struct Imap {
    pub port: u16,
    pub user: &'static str,
    pub password: &'static str,
    child: Child,
    dir: tempfile::TempDir,
}

fn dovecot_binary() -> Option<PathBuf> {
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Imap {
    pub fn start() -> Option<Self> {
        let Some(binary) = dovecot_binary() else {
            unavailable("Dovecot", "/usr/sbin/dovecot is not installed")?;
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // Dovecot's login processes refuse to run as root and need to
        // reach the mail directories as the dovecot user.
        let _ = Command::new("chmod").arg("755").arg(root).status();
        for sub in ["run", "mail"] {
            std::fs::create_dir_all(root.join(sub)).expect("dirs");
        }
        let port = free_port();
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {r}/run\nstate_dir = {r}/run\nlog_path = {r}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\nmail_location = maildir:{r}/mail/%u\ndefault_internal_user = dovecot\ndefault_internal_group = dovecot\ndefault_login_user = dovenull\nfirst_valid_uid = 1\nservice imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\npassdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\nuserdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={r}/mail/%u\n}}\n",
            r = root.display()
        );
        std::fs::write(root.join("dovecot.conf"), config).expect("config");
        std::fs::write(root.join("passwd"), "intake:{PLAIN}secret::::::\n").expect("passwd");
        let _ = Command::new("chown")
            .args(["-R", "dovecot:dovecot"])
            .arg(root.join("mail"))
            .status();
        let mut child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        wait_for_port(port, &mut child, "dovecot");
        Some(Self {
            port,
            user: "intake",
            password: "secret",
            child,
            dir,
        })
    }

    /// Delivers `raw` into the INBOX as a new (unseen) message, the way
    /// an MTA's local delivery does (Maildir `new/`).
    pub fn deliver(&self, raw: &[u8]) {
        let maildir = self.maildir();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
        }
        let name = format!(
            "{}.pakn-test.{}",
            uuid::Uuid::now_v7().simple(),
            std::process::id()
        );
        let tmp = maildir.join("tmp").join(&name);
        let mut f = std::fs::File::create(&tmp).expect("tmp file");
        f.write_all(raw).expect("write");
        drop(f);
        std::fs::rename(&tmp, maildir.join("new").join(&name)).expect("deliver");
        let _ = Command::new("chown")
            .args(["-R", "dovecot:dovecot"])
            .arg(self.dir.path().join("mail"))
            .status();
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail").join(self.user)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Imap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Dovecot's children exit when the master goes.
        let pid_file = self.dir.path().join("run").join("master.pid");
        if let Ok(pid) = std::fs::read_to_string(pid_file) {
            let _ = Command::new("kill")
                .arg(pid.trim())
                .stderr(Stdio::null())
                .status();
        }
    }
}
