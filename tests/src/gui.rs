//! Mote Studio driven through WebDriver: Xvfb, WebKitWebDriver behind tauri-driver, and the app
//! binary in a real window. Used by the GUI suite and the GUI benchmark.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::workspace_binary;

/// A process (and its process group, when it leads one) killed when dropped.
pub struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // tauri-driver starts WebKitWebDriver, which starts the app: kill them all.
        unsafe { libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two distinct free ports (both listeners are held until both are known).
fn free_ports() -> (u16, u16) {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    (first.local_addr().unwrap().port(), second.local_addr().unwrap().port())
}

fn which(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain([dirs_cargo_bin()])
        .map(|dir| dir.join(program))
        .find(|path| path.exists());
    found.unwrap_or_else(|| panic!("{program} is not installed; scripts/install.sh test installs it"))
}

fn dirs_cargo_bin() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin")
}

/// Starts Xvfb on the first free display from :91.
fn start_display() -> (Guard, String) {
    for number in 91..120 {
        let lock = format!("/tmp/.X{number}-lock");
        if let Ok(text) = std::fs::read_to_string(&lock) {
            // A display whose server is gone (killed without cleaning up) is free again.
            let alive =
                text.trim().parse::<libc::pid_t>().is_ok_and(|pid| unsafe { libc::kill(pid, 0) } == 0);
            if alive {
                continue;
            }
            let _ = std::fs::remove_file(&lock);
            let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{number}"));
        }
        let display = format!(":{number}");
        let child = Command::new(which("Xvfb"))
            .args([&display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let mut guard = Guard(child);
        std::thread::sleep(Duration::from_millis(500));
        if guard.0.try_wait().ok().flatten().is_none() {
            return (guard, display);
        }
    }
    panic!("no free X display");
}

/// Polls tauri-driver's `/status` until its native driver is up: a session requested earlier
/// can hang.
fn wait_until_ready(port: u16) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.write_all(b"GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.contains("\"ready\":true") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("tauri-driver on port {port} never became ready");
}

pub struct App {
    pub client: Client,
    pub shots: PathBuf,
    /// When the WebDriver session (and so the app) was requested.
    pub launched_at: Instant,
    _driver: Guard,
    _display: Guard,
    _data: tempfile::TempDir,
}

impl App {
    pub async fn launch() -> App {
        Self::launch_with_env(&[]).await
    }

    /// [`App::launch`] with extra environment variables for the app (e.g. WebKit settings).
    pub async fn launch_with_env(env: &[(&str, &str)]) -> App {
        let (display_guard, display) = start_display();
        let data = tempfile::tempdir().unwrap();
        let (port, native_port) = free_ports();
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-output/gui");
        std::fs::create_dir_all(&shots).unwrap();
        let driver_log = std::fs::File::create(shots.join("tauri-driver.log")).unwrap();
        let driver = Command::new(which("tauri-driver"))
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .args(["--native-driver", which("WebKitWebDriver").to_str().unwrap()])
            .env("DISPLAY", &display)
            .env("NO_AT_BRIDGE", "1")
            .env("MOTE_RUNTIME_DIR", data.path())
            .env("XDG_DATA_HOME", data.path().join("data"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            // Not our stderr: a process that outlived the test would hold the test runner's pipe.
            .stderr(driver_log)
            .process_group(0)
            .spawn()
            .expect("tauri-driver starts");
        let driver = Guard(driver);
        let url = format!("http://127.0.0.1:{port}");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": workspace_binary("mote-studio") }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        wait_until_ready(port);
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(connector.clone()).capabilities(capabilities.clone()).connect(&url).await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() < Duration::from_secs(30) => {
                    eprintln!("gui: retrying the WebDriver session: {error}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(error) => panic!("no WebDriver session: {error}"),
            }
        };
        App { client, shots, launched_at: started, _driver: driver, _display: display_guard, _data: data }
    }

    /// Where the app's boards register (`MOTE_RUNTIME_DIR`): a board started there is one the
    /// app finds, as if plugged in.
    pub fn runtime_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        element.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Waits until the text of `css` satisfies `check`; returns it.
    pub async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_text_for(Duration::from_secs(20), css, what, check).await
    }

    /// [`App::wait_text`] with a longer patience (training, many windows).
    pub async fn wait_text_for(
        &self,
        patience: Duration,
        css: &str,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + patience;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if check(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot("failure").await;
        let page = match self.client.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        panic!(
            "{css} never showed {what}; last text: {last:?}; the page (screenshot failure.png) says:\n{page}"
        );
    }

    /// Sets an input, textarea or select the way typing or picking would (Svelte's bindings see
    /// the input and change events).
    pub async fn set_value(&self, css: &str, value: &str) {
        self.wait_for(css).await;
        let script = "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
                      el.dispatchEvent(new Event('input', { bubbles: true })); \
                      el.dispatchEvent(new Event('change', { bubbles: true }));";
        self.client
            .execute(script, vec![css.into(), value.into()])
            .await
            .unwrap_or_else(|e| panic!("set {css}: {e}"));
    }

    pub async fn screenshot(&self, name: &str) {
        // Without GPU compositing (the app's default with no GPU), WebKit takes a snapshot on
        // the next paint: keep the page painting (an invisible pixel changing every frame) until
        // the snapshot is taken.
        let repaint = "if (!window.__moteRepaint) { const dot = document.createElement('div'); \
                       dot.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none'; \
                       document.body.appendChild(dot); let on = false; window.__moteRepaint = true; \
                       const tick = () => { on = !on; dot.style.opacity = on ? '0.01' : '0.02'; \
                         if (window.__moteRepaint) requestAnimationFrame(tick); else dot.remove(); }; \
                       requestAnimationFrame(tick); }";
        self.client.execute(repaint, vec![]).await.expect("keep painting");
        let png = self.client.screenshot().await.expect("screenshot");
        let _ = self.client.execute("window.__moteRepaint = false", vec![]).await;
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot of {name}");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
}
