//! Mote Studio in a real window: Xvfb, WebKitWebDriver behind tauri-driver, and the app binary,
//! clicked through like a person would. Screenshots of every page go to `test-output/gui/`.
//! (`WEBKIT_DISABLE_COMPOSITING_MODE` must stay unset: with it, WebKitWebDriver's screenshot hangs.)

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use mote_e2e::workspace_binary;

/// A process (and its process group, when it leads one) killed when dropped.
struct Guard(Child);

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
        if std::path::Path::new(&format!("/tmp/.X{number}-lock")).exists() {
            continue;
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

struct App {
    client: Client,
    shots: PathBuf,
    _driver: Guard,
    _display: Guard,
    _data: tempfile::TempDir,
}

impl App {
    async fn launch() -> App {
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
        let started = Instant::now();
        wait_until_ready(port);
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
        App { client, shots, _driver: driver, _display: display_guard, _data: data }
    }

    async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        element.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Waits until the text of `css` satisfies `check`; returns it.
    async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_text_for(Duration::from_secs(20), css, what, check).await
    }

    /// [`App::wait_text`] with a longer patience (training, many windows).
    async fn wait_text_for(
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
    async fn set_value(&self, css: &str, value: &str) {
        self.wait_for(css).await;
        let script = "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
                      el.dispatchEvent(new Event('input', { bubbles: true })); \
                      el.dispatchEvent(new Event('change', { bubbles: true }));";
        self.client
            .execute(script, vec![css.into(), value.into()])
            .await
            .unwrap_or_else(|e| panic!("set {css}: {e}"));
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot of {name}");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_a_virtual_board_watch_it_live_and_pull_it() {
    let app = App::launch().await;
    app.wait_for("nav").await;
    app.click("[data-page=dashboard]").await;
    app.wait_text("main", "the dashboard", |text| text.contains("Boards")).await;
    app.screenshot("dashboard").await;

    app.click("[data-page=devices]").await;
    app.click("#start-virtual").await;
    let board = app.wait_text("#board", "the connected virtual board", |t| t.contains("virtual-1")).await;
    assert!(board.contains("imu") && board.contains("1600"), "{board}");
    app.screenshot("devices").await;

    app.click("[data-activity=wave]").await;
    app.click("#start-live").await;
    let stats = app
        .wait_text("#live-stats", "a measured rate near 100 Hz", |text| {
            number_after(text, "measured rate").is_some_and(|rate| (95.0..105.0).contains(&rate))
        })
        .await;
    assert_eq!(number_after(&stats, "lost batches"), Some(0.0), "{stats}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bottom = "document.getElementById('live-stats').scrollIntoView({ block: 'end' })";
    app.client.execute(bottom, vec![]).await.expect("scroll to the chart");
    app.screenshot("devices-live").await;

    // Record two labelled samples into the (fresh) default project.
    app.click("[data-page=data]").await;
    app.wait_text("#sample-count", "an empty project", |t| t.contains("(0)")).await;
    let label = app.wait_for("#label").await;
    label.send_keys("wave").await.unwrap();
    let seconds = app.wait_for("#seconds").await;
    seconds.clear().await.unwrap();
    seconds.send_keys("1").await.unwrap();
    for count in ["(1)", "(2)"] {
        app.click("#record").await;
        app.wait_text("#sample-count", count, |t| t.contains(count)).await;
    }
    let table = app.wait_text("#samples", "the recorded samples", |t| t.contains("wave.2")).await;
    assert!(table.contains("train") && table.contains("virtual-1"), "{table}");
    app.screenshot("data-acquisition").await;
    app.click("[data-page=dashboard]").await;
    app.wait_text("#project", "the label counts", |t| t.contains("wave")).await;
    app.screenshot("dashboard-with-data").await;

    // Pull the virtual board: the app says so and stays responsive.
    app.click("[data-page=devices]").await;
    app.wait_text("#board", "the board again", |t| t.contains("virtual-1")).await;
    app.click("button.danger").await;
    let notice = app.wait_text("#notice", "a disconnect notice", |text| text.contains("disconnected")).await;
    assert!(notice.contains("kept"), "{notice}");
    app.click("[data-page=dashboard]").await;
    app.wait_text("main", "the dashboard again", |text| text.contains("Boards")).await;
    app.click("[data-page=devices]").await;
    app.wait_for("#start-virtual").await;
    app.screenshot("devices-after-unplug").await;
    app.client.clone().close().await.expect("session closes");
}

/// The whole loop a new user clicks through, with no hardware: start the virtual board, record
/// three gestures (train and test), design the impulse, cancel a training run, train, test,
/// deploy to the virtual board and watch it classify live — and a cable pulled mid-recording.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_train_deploy_and_classify_live() {
    let app = App::launch().await;
    app.wait_for("nav").await;
    app.click("[data-page=devices]").await;
    app.click("#start-virtual").await;
    app.wait_text("#board", "the connected virtual board", |t| t.contains("virtual-1")).await;

    let gestures = ["circle", "shake", "wave"];
    let mut recorded = 0;
    for gesture in gestures {
        app.click("[data-page=devices]").await;
        app.click(&format!("[data-activity={gesture}]")).await;
        app.click("[data-page=data]").await;
        app.set_value("#label", gesture).await;
        app.set_value("#seconds", "2").await;
        for split in ["train", "train", "train", "test"] {
            app.set_value("#split", split).await;
            app.click("#record").await;
            recorded += 1;
            let count = format!("({recorded})");
            app.wait_text("#sample-count", &count, |t| t.contains(&count)).await;
        }
    }
    app.screenshot("loop-data").await;

    // Impulse: shorter windows with more overlap (2 s samples give five windows each).
    app.click("[data-page=impulse]").await;
    app.set_value("#window-ms", "1000").await;
    app.set_value("#stride-ms", "250").await;
    app.set_value("#learn-params", "epochs = 100000").await;
    app.click("#save-impulse").await;
    app.wait_text("#impulse-saved", "the saved impulse", |t| t.contains("Saved")).await;
    let features = app.wait_text("#feature-count", "the feature count", |t| t.contains("features")).await;
    app.screenshot("impulse").await;

    // A run that would take long is cancelled: a clear message, no model, the app still answers.
    app.click("[data-page=training]").await;
    app.click("#start-training").await;
    app.wait_text("#epoch", "a few epochs", |t| number_after(t, "epoch").is_some_and(|e| e >= 3.0)).await;
    app.click("#cancel-training").await;
    app.wait_text_for(Duration::from_secs(60), "#train-notice", "the cancel notice", |t| {
        t.contains("cancelled")
    })
    .await;
    app.screenshot("training-cancelled").await;
    app.click("[data-page=dashboard]").await;
    app.wait_text("#project", "the dashboard's label counts", |t| t.contains("shake")).await;

    app.click("[data-page=impulse]").await;
    app.set_value("#learn-params", "epochs = 60").await;
    app.click("#save-impulse").await;
    app.wait_text("#impulse-saved", "the saved impulse", |t| t.contains("Saved")).await;
    app.click("[data-page=training]").await;
    app.click("#start-training").await;
    let accuracy = app
        .wait_text_for(Duration::from_secs(180), "#int8-accuracy", "the int8 accuracy", |t| t.contains('%'))
        .await;
    eprintln!("gui: {features}; int8 test accuracy {accuracy}");
    app.wait_for("#confusion").await;
    app.screenshot("training").await;

    app.click("[data-page=testing]").await;
    app.click("#run-test").await;
    let tested = app
        .wait_text_for(Duration::from_secs(60), "#test-accuracy", "the test accuracy", |t| t.contains('%'))
        .await;
    assert!(number_after(&format!("x{tested}"), "x").is_some_and(|a| a >= 80.0), "test accuracy {tested}");
    app.screenshot("testing").await;

    app.click("[data-page=deployment]").await;
    app.click("#deploy").await;
    app.wait_text_for(Duration::from_secs(60), "#deploy-result", "the deployed model", |t| {
        t.contains("running in slot")
    })
    .await;
    app.screenshot("deployment").await;

    // Live: the board performs each gesture; the top label follows, and the host agrees.
    app.click("#go-live").await;
    app.click("#start-classify").await;
    for gesture in ["shake", "circle", "wave"] {
        app.set_value("#live-activity", gesture).await;
        // Windows of the previous gesture drain first; then the label settles.
        let settled =
            app.wait_text_for(Duration::from_secs(30), "#top-label", gesture, |t| t == gesture).await;
        assert_eq!(settled, gesture);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let still = app.wait_text("#top-label", gesture, |_| true).await;
        assert_eq!(still, gesture, "the label stays on {gesture}");
    }
    let parity = app.wait_text("#parity", "host parity", |t| t.contains("identical")).await;
    assert!(!parity.contains("differ"), "{parity}");
    app.screenshot("live").await;
    app.click("#stop-classify").await;

    // The cable is pulled in the middle of a recording (the virtual board stops, as a board
    // would vanish): a clear message on every page, and the samples recorded before are kept.
    app.click("[data-page=data]").await;
    app.set_value("#label", "wave").await;
    app.set_value("#seconds", "8").await;
    app.click("#record").await;
    app.wait_for("#record-progress").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pull = "window.__TAURI_INTERNALS__.invoke('stop_virtual_board', { deviceId: 'virtual-1' })";
    app.client.execute(pull, vec![]).await.expect("the board is pulled");
    let notice =
        app.wait_text("#session-notice", "a disconnect notice", |t| t.contains("disconnected")).await;
    assert!(notice.contains("kept"), "{notice}");
    let count = app.wait_text("#sample-count", "the samples", |t| t.contains('(')).await;
    assert!(number_after(&count, "(").is_some_and(|n| n >= recorded as f64), "{count}");
    app.screenshot("data-after-unplug").await;
    app.click("[data-page=dashboard]").await;
    app.wait_text("#project", "the dashboard, still answering", |t| t.contains("circle")).await;
    app.client.clone().close().await.expect("session closes");
}

/// The number that follows `label` in `text` (element text may or may not put a space between).
fn number_after(text: &str, label: &str) -> Option<f64> {
    let rest = text.split(label).nth(1)?.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}
