//! A real MQTT broker for the gateway's tests: Debian's `mosquitto`, started on a free loopback
//! port with its own configuration and persistence file, stopped and started again at will; and a
//! subscriber (`mosquitto_sub`, a persistent QoS 1 session) that collects what arrives.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: run `bash scripts/install.sh test`");
}

/// A mosquitto broker on 127.0.0.1; stopped when dropped.
pub struct Mosquitto {
    pub port: u16,
    config: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
    /// Folders that live as long as the broker (its certificates).
    keep: Vec<tempfile::TempDir>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Mosquitto {
    /// Starts a broker that keeps sessions and queued messages across its own restarts.
    pub fn start() -> Mosquitto {
        Self::start_with("")
    }

    /// [`Mosquitto::start`] with extra configuration lines (TLS listeners, users).
    pub fn start_with(extra: &str) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("mosquitto.conf");
        // Started as root, mosquitto would switch to the `mosquitto` user, which cannot write
        // its persistence file in our folder (and would silently keep no sessions).
        let user = if unsafe { libc::geteuid() } == 0 { "user root\n" } else { "" };
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 max_queued_messages 100000\nlog_dest file {}/mosquitto.log\n{user}{extra}",
                dir.path().display(),
                dir.path().display()
            ),
        )
        .unwrap();
        let mut broker = Mosquitto { port, config, child: None, _dir: dir, keep: Vec::new() };
        broker.resume();
        broker
    }

    /// A broker that also listens with TLS (a certificate for 127.0.0.1 from a CA made here) and
    /// takes the user `mote` with password `secret` (anonymous clients stay welcome on the plain
    /// listener, where the test's subscriber is). Returns the broker, its TLS port and the CA file.
    pub fn start_tls() -> (Mosquitto, u16, PathBuf) {
        let certs = tempfile::tempdir().unwrap();
        let dir = certs.path();
        let openssl = |args: &[&str]| openssl(dir, args);
        self_signed_ca(dir, "ca", "mote test CA");
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let passwd = Command::new(tool("mosquitto_passwd"))
            .args(["-c", "-b"])
            .arg(dir.join("passwd"))
            .args(["mote", "secret"])
            .output()
            .expect("mosquitto_passwd runs");
        assert!(passwd.status.success(), "{}", String::from_utf8_lossy(&passwd.stderr));
        let tls_port = free_port();
        let extra = format!(
            "password_file {d}/passwd\nlistener {tls_port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n",
            d = dir.display()
        );
        let mut broker = Self::start_with(&extra);
        let ca = dir.join("ca.pem");
        broker.keep.push(certs);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen with TLS on {tls_port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        (broker, tls_port, ca)
    }

    /// Publishes `file` on `topic` with `mosquitto_pub` (QoS 1; retained when asked).
    pub fn publish_file(&self, topic: &str, file: &Path, retain: bool) {
        let mut command = Command::new(tool("mosquitto_pub"));
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", topic, "-q", "1", "-f"])
            .arg(file);
        if retain {
            command.arg("-r");
        }
        assert!(command.status().expect("mosquitto_pub runs").success(), "publishing on {topic}");
    }

    /// Publishes `text` on `topic` (QoS 1).
    pub fn publish(&self, topic: &str, text: &str) {
        let status = Command::new(tool("mosquitto_pub"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", topic, "-q", "1", "-m", text])
            .status()
            .expect("mosquitto_pub runs");
        assert!(status.success(), "publishing on {topic}");
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Starts (again) and waits until it accepts connections.
    pub fn resume(&mut self) {
        let child = Command::new(tool("mosquitto"))
            .arg("-c")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it the way a service stop does (SIGTERM: it saves sessions and queues first).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One message as received: topic and JSON payload, in arrival order.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub payload: serde_json::Value,
    /// When it arrived (Unix time, ms, to the microsecond).
    pub at_ms: f64,
}

/// `mosquitto_sub` on `topic` with a persistent session (QoS 1), so nothing published while it
/// is reconnecting is lost; killed when dropped.
pub struct Subscriber {
    child: Child,
    pub messages: Arc<Mutex<Vec<Received>>>,
}

impl Subscriber {
    pub fn start(broker: &Mosquitto, topic: &str) -> Subscriber {
        let mut child = Command::new(tool("mosquitto_sub"))
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", topic, "-q", "1", "-v"])
            .args(["-c", "-i", &format!("mote-test-{}", std::process::id())])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub starts");
        let stdout = child.stdout.take().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Some((topic, payload)) = line.split_once(' ') else { continue };
                let payload =
                    serde_json::from_str(payload).unwrap_or(serde_json::Value::String(payload.into()));
                let at_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_micros() as f64 / 1000.0);
                sink.lock().unwrap().push(Received { topic: topic.to_string(), payload, at_ms });
            }
        });
        Subscriber { child, messages }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits until `check` holds for what was received (panics after `patience`).
    pub fn wait_until(&self, patience: Duration, what: &str, check: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + patience;
        loop {
            if check(&self.received()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never received {what}; {} messages so far",
                self.received().len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `openssl` in `dir`; panics with its message when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed CA in `dir`: `<name>.pem` and its key `<name>.key`.
pub fn self_signed_ca(dir: &Path, name: &str, subject: &str) {
    let (key, pem, subject) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={subject}"));
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem, "-days", "2",
            "-subj", &subject,
        ],
    );
}
