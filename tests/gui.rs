//! Mote Studio in a real window: Xvfb, WebKitWebDriver behind tauri-driver, and the app binary,
//! clicked through like a person would. Screenshots of every page go to `test-output/gui/`.

use std::time::Duration;

use mote_e2e::gui::App;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_a_virtual_board_watch_it_live_and_pull_it() {
    let app = App::launch().await;
    app.wait_for("nav").await;
    app.click("[data-page=dashboard]").await;
    app.wait_text("#boards", "the dashboard", |text| text.contains("Boards")).await;
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

    // Record two labelled samples into the (fresh) default project, at a rate picked here: the
    // project's settings follow while it has no samples.
    app.click("[data-page=data]").await;
    app.wait_text("#sample-count", "an empty project", |t| t.contains("(0)")).await;
    app.wait_text("#record-from", "the connected board", |t| t.contains("virtual-1")).await;
    app.set_value("#record-rate", "50").await;
    app.wait_text("#record-settings", "the new rate", |t| t.contains("at 50 Hz")).await;
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
    assert!(table.contains("train") && table.contains("virtual-1") && table.contains("1.0 s"), "{table}");
    // Samples fix the project's sensor and rate.
    app.wait_for("#record-rate[disabled]").await;

    // A recording shows its signal as it arrives and can be cancelled: nothing is stored.
    app.set_value("#seconds", "6").await;
    app.click("#record").await;
    app.wait_for("#record-signal canvas").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.screenshot("data-recording").await;
    app.click("#cancel-recording").await;
    let error = app.wait_text("#error", "the cancel message", |t| t.contains("cancelled")).await;
    assert!(error.contains("not stored"), "{error}");
    app.wait_for("#record:not([disabled])").await;
    let count = app.wait_text("#sample-count", "the sample count", |t| t.contains('(')).await;
    assert!(count.contains("(2)"), "{count}");
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
    app.wait_text("#boards", "the dashboard again", |text| text.contains("Boards")).await;
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
            app.wait_for("#record:not([disabled])").await;
            app.click("#record").await;
            recorded += 1;
            let count = format!("({recorded})");
            app.wait_text("#sample-count", &count, |t| t.contains(&count)).await;
        }
    }
    // Look at one sample, and the dataset's balance.
    app.click("#samples button.link").await;
    app.wait_for("#sample-plot canvas").await;
    let balance = app.wait_text("#dataset-stats", "the balance", |t| t.contains("3 train · 1 test")).await;
    assert!(balance.contains("circle") && balance.contains("wave"), "{balance}");
    app.screenshot("loop-data").await;

    // Impulse: shorter windows with more overlap (2 s samples give five windows each).
    app.click("[data-page=impulse]").await;
    app.set_value("#window-ms", "1000").await;
    app.set_value("#stride-ms", "250").await;
    app.set_value("#field-learn-epochs", "100000").await;
    app.click("#save-impulse").await;
    app.wait_text("#impulse-saved", "the saved impulse", |t| t.contains("Saved")).await;
    let features = app.wait_text("#feature-count", "the feature count", |t| t.contains("features")).await;
    app.wait_for("#feature-preview").await;
    app.wait_for("#feature-scatter").await;
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
    app.set_value("#field-learn-epochs", "60").await;
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
    app.wait_text("#misclassified", "the misclassified windows", |t| t.contains("Misclassified")).await;
    app.screenshot("testing").await;
    app.click("[data-page=dashboard]").await;
    app.wait_text("#model-summary", "the newest model", |t| t.contains("int8 accuracy") && t.contains('%'))
        .await;
    app.screenshot("dashboard-with-model").await;

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
    app.wait_for("#live-signal canvas").await;
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

/// A CI bundle opens as a project (the folder is handed over as the native folder dialog would:
/// WebDriver cannot drive the OS's dialog).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ci_bundle_opens_as_a_project() {
    let work = tempfile::tempdir().unwrap();
    basic_motions_project(work.path());
    mote_in(work.path(), &["export", "--project", "p", "--out", "basic-motions-bundle"]);
    let bundle = work.path().join("basic-motions-bundle");

    let app = App::launch().await;
    open_project(&app, &bundle).await;
    app.click("[data-page=devices]").await;
    app.click("[data-page=dashboard]").await;
    let project = app.wait_text("#project", "the bundle's project", |t| t.contains("basic-motions")).await;
    assert!(project.contains("walking") && project.contains("badminton"), "{project}");
    app.screenshot("dashboard-bundle").await;
    app.client.clone().close().await.expect("session closes");
}

/// The real firmware on the emulated Cortex-M4F boots from the Deployment page, shows up among
/// the ports, and stops from Devices like a pulled cable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulated_cortex_m4_boots_from_deployment() {
    mote_e2e::qemu::firmware_elf(); // built by the test command
    let app = App::launch().await;
    app.click("[data-page=deployment]").await;
    app.click("#boot-emulated").await;
    let panel = app
        .wait_text_for(Duration::from_secs(90), "#connected-board", "the emulated board connected", |t| {
            t.contains("qemu-mps2-an386") && t.contains("slots")
        })
        .await;
    assert!(panel.contains("Deploy to board"), "{panel}");
    app.screenshot("deployment-emulated").await;
    app.click("[data-page=devices]").await;
    let ports = app.wait_text("#ports", "the emulated port", |t| t.contains("qemu-mps2-an386")).await;
    assert!(ports.contains("/dev/pts/") && ports.contains("connected"), "{ports}");
    app.wait_text("#board", "its sensors", |t| t.contains("accel")).await;
    app.screenshot("devices-emulated").await;
    app.click("button.danger").await;
    let notice = app.wait_text("#notice", "a disconnect notice", |t| t.contains("disconnected")).await;
    assert!(notice.contains("kept"), "{notice}");
    app.wait_text("#ports", "the port gone", |t| !t.contains("qemu-mps2-an386")).await;
    app.client.clone().close().await.expect("session closes");
}

/// A board that only prints readings (data-forwarder style) is found with its axes and rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_forwarder_board_shows_its_axes_and_rate() {
    use std::io::Write as _;
    let (mut board_side, app_side) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let path = serialport::SerialPort::name(&app_side).expect("the pty's name");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let printer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let line = if n % 40 == 7 {
                    "boot: IMU ok\r\n".to_string()
                } else {
                    format!("{},{},{}\r\n", n % 100, -(n as i64 % 7), 981)
                };
                let _ = board_side.write_all(line.as_bytes());
                n += 1;
                std::thread::sleep(Duration::from_millis(20)); // 50 Hz
            }
        })
    };
    let app = App::launch().await;
    app.click("[data-page=devices]").await;
    app.set_value("#forwarder-port", &path).await;
    app.click("#detect-forwarder").await;
    let found = app.wait_text("#forwarders", "the detected stream", |t| t.contains("3 axes")).await;
    let rate = number_after(&found, "axis2)").expect("a rate");
    assert!((45.0..=55.0).contains(&rate), "50 Hz expected: {found}");
    assert!(found.contains("boot: IMU ok"), "the line that is not a reading is shown: {found}");
    app.screenshot("devices-forwarder").await;

    // Record from it: the empty project takes its three axes and its rate.
    app.click("[data-page=data]").await;
    app.wait_text("#sample-count", "an empty project", |t| t.contains("(0)")).await;
    app.set_value("#record-from", "forwarder").await;
    app.set_value("#record-port", &path).await;
    app.set_value("#label", "tilt").await;
    app.set_value("#seconds", "2").await;
    app.click("#record").await;
    app.wait_text_for(Duration::from_secs(30), "#sample-count", "the recorded sample", |t| t.contains("(1)"))
        .await;
    let table = app.wait_text("#samples", "the sample", |t| t.contains("tilt")).await;
    assert!(table.contains(&path), "the port is the sample's device: {table}");
    let panel = app.wait_text("#record-settings", "the adopted settings", |t| t.contains("axis2")).await;
    let rate = number_after(&panel, "axis2) at").expect("the project's rate");
    assert!((45.0..=55.0).contains(&rate), "{panel}");
    app.screenshot("data-forwarder").await;
    app.client.clone().close().await.expect("session closes");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = printer.join();
    drop(app_side);
}

/// Real boards from the Deployment page: the flash plan for each, the plain "no debug probe"
/// message (no probe exists here), and the Pico's UF2 image (the folder is handed over as the
/// native dialog would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_boards_show_their_flash_plan_and_say_when_no_probe_is_attached() {
    let app = App::launch().await;
    app.click("[data-page=deployment]").await;
    app.click("#flash-plan").await;
    let plan = app
        .wait_text_for(Duration::from_secs(120), "#flash-plan-view", "the micro:bit plan", |t| {
            t.contains("nRF52833")
        })
        .await;
    assert!(plan.contains("erase 0x00000000") && plan.contains("write"), "{plan}");
    let board_panel = "document.getElementById('real-boards').scrollIntoView({ block: 'start' })";
    app.client.execute(board_panel, vec![]).await.expect("scroll to the real boards");
    app.screenshot("deployment-real-board").await;
    app.click("#flash-board").await;
    let error =
        app.wait_text("#flash-error", "the missing probe", |t| t.contains("no debug probe found")).await;
    assert!(error.contains("micro:bit"), "{error}");

    app.set_value("#real-board", "rp2040-pico").await;
    app.click("#flash-plan").await;
    let plan = app
        .wait_text_for(Duration::from_secs(120), "#flash-plan-view", "the Pico plan", |t| {
            t.contains("RP2040")
        })
        .await;
    assert!(plan.contains("0x10000000"), "the second-stage bootloader is written: {plan}");
    let out = tempfile::tempdir().unwrap();
    let write = "return window.__TAURI_INTERNALS__.invoke('export_uf2', { withModel: false, dir: arguments[0] }).then((f) => f, (e) => JSON.stringify(e))";
    let file =
        app.client.execute(write, vec![out.path().to_str().unwrap().into()]).await.expect("export_uf2");
    let file = std::path::PathBuf::from(file.as_str().expect("a path"));
    let image = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(!image.is_empty() && image.len() % 512 == 0, "{} bytes", image.len());
    app.client.clone().close().await.expect("session closes");
}

/// Issue 17: the Deployment page builds the lean firmware of the project's model for the board
/// chosen (the same engine as `mote deploy --export firmware`): the ELF, its footprint and a README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lean_firmware_is_exported_from_deployment() {
    let work = tempfile::tempdir().unwrap();
    let (_, dsp, learn) = mote_e2e::clib::DENSE;
    mote_e2e::clib::train_basic_motions(work.path(), 10_000, dsp, learn);
    let app = App::launch().await;
    open_project(&app, &work.path().join("p")).await;
    app.click("[data-page=deployment]").await;
    app.wait_for("#export-firmware").await;
    app.set_value("#lean-board", "microbit-v2").await;
    app.screenshot("deployment-lean-firmware").await;
    let out = work.path().join("fw");
    let export = "return window.__TAURI_INTERNALS__.invoke('export_model', { format: 'firmware', dir: arguments[0], board: 'microbit-v2' }).then((f) => f, (e) => JSON.stringify(e))";
    let files = app.client.execute(export, vec![out.to_str().unwrap().into()]).await.expect("export_model");
    let files: Vec<String> =
        serde_json::from_value(files.clone()).unwrap_or_else(|_| panic!("files: {files}"));
    assert_eq!(files.len(), 3, "{files:?}");
    let elf = std::fs::read(out.join("microbit-v2.elf")).unwrap();
    let footprint = mote_pipeline::firmware::footprint(&elf).unwrap();
    assert!(footprint.flash_parts.iter().any(|(part, bytes)| part == "model" && *bytes > 0), "{footprint:?}");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("mote flash --board microbit-v2"), "{readme}");
    // Without a board the engine says what is missing.
    let refused = "return window.__TAURI_INTERNALS__.invoke('export_model', { format: 'firmware', dir: arguments[0], board: null }).then((f) => JSON.stringify(f), (e) => JSON.stringify(e))";
    let said = app.client.execute(refused, vec![out.to_str().unwrap().into()]).await.expect("export_model");
    assert!(said.as_str().is_some_and(|t| t.contains("export.board") && t.contains("microbit-v2")), "{said}");
    app.client.clone().close().await.expect("session closes");
}

/// `mote` with `args` in `dir`, which must succeed.
fn mote_in(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new(mote_e2e::workspace_binary("mote"))
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "mote {args:?}");
}

/// A project `dir/p` with BasicMotions imported (its preset impulse).
fn basic_motions_project(dir: &std::path::Path) {
    let dataset = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    mote_in(dir, &["init", "--project", "p"]);
    mote_in(dir, &["import", "--project", "p", dataset.to_str().unwrap()]);
}

/// Opens a project folder or bundle in the app, handed over as the native folder dialog would
/// (WebDriver cannot drive the OS's dialog).
async fn open_project(app: &App, dir: &std::path::Path) {
    app.click("[data-page=dashboard]").await;
    app.wait_for("#open-project").await;
    let open = "return window.__TAURI_INTERNALS__.invoke('open_project', { dir: arguments[0] }).then(() => 'ok', (e) => JSON.stringify(e))";
    let outcome = app.client.execute(open, vec![dir.to_str().unwrap().into()]).await.expect("open_project");
    assert_eq!(outcome, serde_json::json!("ok"));
}

/// The number that follows `label` in `text` (element text may or may not put a space between).
fn number_after(text: &str, label: &str) -> Option<f64> {
    let rest = text.split(label).nth(1)?.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The Tuner page (issue 15): a search starts, its trials arrive in the table, it is cancelled,
/// resumed without repeating a trial, and one trial is applied to the project's `mote.toml`
/// (its comments kept); the Pareto plots show with the budget's line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tune_cancel_resume_and_apply_a_trial() {
    let work = tempfile::tempdir().unwrap();
    basic_motions_project(work.path());
    // Fewer epochs than the preset's 300, so trials arrive every second or two.
    let toml_path = work.path().join("p/mote.toml");
    let text = std::fs::read_to_string(&toml_path).unwrap();
    std::fs::write(&toml_path, text.replace("epochs = 300", "epochs = 30")).unwrap();

    let app = App::launch().await;
    open_project(&app, &work.path().join("p")).await;

    app.click("[data-page=tuner]").await;
    app.set_value("#tune-ram", "8").await;
    app.set_value("#tune-min-accuracy", "50").await;
    app.set_value("#tune-minutes", "").await;
    let rows = async |app: &App| -> Vec<String> {
        let mut numbers = Vec::new();
        for row in app.client.find_all(fantoccini::Locator::Css("[data-trial]")).await.unwrap() {
            numbers.push(row.attr("data-trial").await.unwrap().unwrap_or_default());
        }
        numbers
    };
    app.click("#start-tune").await;
    // Trials arrive while it runs; then cancel.
    app.wait_text("#tune-count", "two trials done", |t| {
        t.split('/').next().and_then(|n| n.trim().parse::<u32>().ok()).is_some_and(|n| n >= 2)
    })
    .await;
    app.click("#cancel-tune").await;
    let stopped = app.wait_text("#tune-notice", "the search stopped", |t| t.contains("Stopped after")).await;
    let first = rows(&app).await;
    assert!(first.len() >= 2, "{stopped}: {first:?}");
    app.screenshot("tuner-stopped").await;

    // Resume: the table keeps the finished trials and adds new ones; none repeats.
    app.click("#start-tune").await;
    let before = first.len();
    app.wait_text("#tune-count", "more trials", |t| {
        t.split('/').next().and_then(|n| n.trim().parse::<usize>().ok()).is_some_and(|n| n >= before + 2)
    })
    .await;
    app.click("#cancel-tune").await;
    app.wait_text("#tune-notice", "stopped again", |t| {
        t.contains("Stopped after") && !t.contains(&format!("after {before} "))
    })
    .await;
    let second = rows(&app).await;
    assert_eq!(second[..first.len()], first[..], "finished trials stay as they were");
    let expected: Vec<String> = (1..=second.len()).map(|n| n.to_string()).collect();
    assert_eq!(second, expected, "trials numbered once each: {second:?}");
    app.wait_for("#tune-plots svg").await;
    app.screenshot("tuner").await;

    // Use the best trial: mote.toml takes its impulse and keeps its comments.
    let best = app.wait_for("tr.best").await.attr("data-trial").await.unwrap().expect("the best trial");
    app.click("tr.best button.apply").await;
    let applied =
        app.wait_text("#tune-notice", "the trial applied", |t| t.contains(&format!("trial {best}:"))).await;
    let text = std::fs::read_to_string(&toml_path).unwrap();
    assert!(text.contains("# one window = one whole 10 s recording"), "comments kept: {text}");
    let described = applied.split(": ").nth(1).unwrap_or_default().to_string();
    let dsp = described.split(" · ").next().unwrap_or_default().to_string();
    assert!(text.contains(&format!("block = \"{dsp}\"")), "{applied}\n{text}");

    // Prune the applied impulse's network while training, set in the Training page's settings:
    // the page shows each step.
    app.click("[data-page=training]").await;
    app.click("#training-settings summary").await;
    app.set_value("#field-learn-epochs", "30").await;
    app.click("#field-learn-prune").await;
    app.set_value("#field-learn-prune-target", "0.5").await;
    app.set_value("#field-learn-prune-steps", "2").await;
    app.set_value("#field-learn-prune-fine_tune_epochs", "5").await;
    app.click("#save-training-settings").await;
    app.wait_text("#training-settings-saved", "the saved settings", |t| t.contains("Saved")).await;
    let text = std::fs::read_to_string(&toml_path).unwrap();
    assert!(text.contains("# one window = one whole 10 s recording"), "comments kept: {text}");
    app.click("#start-training").await;
    let pruning = app.wait_text("#pruning", "the pruning table", |t| t.contains("before")).await;
    let rows = app.client.find_all(fantoccini::Locator::Css("#pruning tbody tr")).await.unwrap().len();
    assert_eq!(rows, 3, "before, step 1, step 2: {pruning}");
    app.screenshot("training-pruned").await;
    app.client.clone().close().await.expect("session closes");
}

/// The Impulse design page's typed forms (issue 15): parameters are fields generated from the
/// config types, with ranges and defaults; a value out of range is named next to its field and
/// nothing is saved; fixed, the impulse saves into `mote.toml` with its comments intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impulse_parameters_are_typed_fields_with_errors_beside_them() {
    let work = tempfile::tempdir().unwrap();
    basic_motions_project(work.path());
    let toml_path = work.path().join("p/mote.toml");
    let text = std::fs::read_to_string(&toml_path).unwrap();
    let text = text.replacen("[dsp]", "# Gestures: keep the features small.\n[dsp]", 1).replacen(
        "epochs = 300",
        "# Enough for 40 windows.\nepochs = 300  # was 100",
        1,
    );
    std::fs::write(&toml_path, &text).unwrap();

    let app = App::launch().await;
    open_project(&app, &work.path().join("p")).await;
    app.click("[data-page=impulse]").await;

    // A DSP parameter: the spectral block's fields, with its range, and an error beside the field.
    app.set_value("#dsp-block", "spectral").await;
    app.wait_for("#field-dsp-n_peaks").await;
    let label = app.wait_text("label[for=field-dsp-n_peaks]", "the range", |t| t.contains("16")).await;
    assert!(label.contains("n peaks"), "{label}");
    app.set_value("#field-dsp-n_peaks", "20").await;
    let error = app.wait_text("#field-dsp-n_peaks-error", "the range error", |t| !t.is_empty()).await;
    assert_eq!(error, "must be between 0 and 16");
    app.screenshot("impulse-form-error").await;
    // Saving now changes nothing.
    app.click("#save-impulse").await;
    app.wait_for("#field-dsp-n_peaks-error").await;
    assert_eq!(std::fs::read_to_string(&toml_path).unwrap(), text);
    app.set_value("#field-dsp-n_peaks", "2").await;
    app.wait_text("#impulse-form-state", "the error cleared", |t| t.contains("no problems")).await;
    // One of several shapes: a high-pass filter with its own fields.
    app.set_value("#field-dsp-filter", "high_pass").await;
    app.set_value("#field-dsp-filter-high_pass-cutoff_hz", "0.5").await;
    app.set_value("#field-dsp-filter-high_pass-order", "2").await;

    // A learning parameter, wrong and then right; a sub-table switched on.
    app.set_value("#field-learn-epochs", "0").await;
    let error = app.wait_text("#field-learn-epochs-error", "the epochs error", |t| !t.is_empty()).await;
    assert_eq!(error, "must be at least 1");
    app.set_value("#field-learn-epochs", "45").await;
    app.click("#field-learn-augment").await;
    app.set_value("#field-learn-augment-noise", "0.1").await;
    app.wait_text("#impulse-form-state", "the errors cleared", |t| t.contains("no problems")).await;
    app.wait_text("#feature-count", "the spectral feature count", |t| t.contains("features")).await;
    app.screenshot("impulse-form").await;
    app.click("#save-impulse").await;
    app.wait_text("#impulse-saved", "the saved impulse", |t| t.contains("Saved")).await;

    let saved = std::fs::read_to_string(&toml_path).unwrap();
    assert!(saved.contains("# Gestures: keep the features small.\n[dsp]"), "{saved}");
    assert!(saved.contains("# Enough for 40 windows.\nepochs = 45  # was 100"), "{saved}");
    let table: toml::Table = saved.parse().unwrap();
    assert_eq!(table["dsp"]["block"].as_str(), Some("spectral"));
    assert_eq!(table["dsp"]["n_peaks"].as_integer(), Some(2));
    assert_eq!(table["dsp"]["filter"]["high_pass"]["order"].as_integer(), Some(2));
    assert_eq!(table["dsp"]["filter"]["high_pass"]["cutoff_hz"].as_float(), Some(0.5));
    assert_eq!(table["learn"]["epochs"].as_integer(), Some(45));
    assert_eq!(table["learn"]["augment"]["noise"].as_float(), Some(0.1));
    app.client.clone().close().await.expect("session closes");
}

/// Issue 16: the Integrations page runs the MQTT gateway, the one `mote gateway` runs, against a
/// real mosquitto: a bad broker address is named beside its field and nothing starts; started,
/// the page shows the board classifying and the broker connected, a subscriber receives the
/// board's results, and Stop leaves the board's status offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrations_page_runs_the_gateway_to_a_real_broker() {
    use mote_e2e::mqtt::{Mosquitto, Subscriber};
    let work = tempfile::tempdir().unwrap();
    let project = mote_e2e::gestures_project(work.path(), None);
    let broker = Mosquitto::start();
    let subscriber = Subscriber::start(&broker, "studio/#");
    let app = App::launch().await;
    let sim = mote_e2e::SimProcess::start_registered(
        app.runtime_dir(),
        &work.path().join("board.flash"),
        &["--script", "wave", "--seed", "8", "--time-scale", "4", "--device-id", "board-gui"],
    );
    mote_e2e::mote_ok(&["deploy", "--project", &project, "--port", &sim.path()]);
    open_project(&app, std::path::Path::new(&project)).await;
    app.click("[data-page=integrations]").await;

    app.set_value("#gw-broker", "http://broker.lan").await;
    app.click("#gw-start").await;
    let said = app.wait_text("#gw-broker-error", "the address refused", |t| !t.is_empty()).await;
    assert!(said.contains("is not mqtt://host[:port]"), "{said}");
    app.wait_text("#gw-state", "nothing started", |t| t.contains("stopped")).await;

    app.set_value("#gw-broker", &broker.url()).await;
    app.set_value("#gw-prefix", "studio").await;
    app.click("#gw-start").await;
    let patience = Duration::from_secs(60);
    app.wait_text_for(patience, "#gw-state", "the broker connected", |t| t.contains("broker connected"))
        .await;
    let boards = app
        .wait_text_for(patience, "#gw-boards", "the board classifying", |t| {
            t.contains("board-gui") && t.contains("online") && t.contains("wave")
        })
        .await;
    assert!(boards.contains("virtual"), "{boards}");
    subscriber.wait_until(patience, "the board's results at the subscriber", |m| {
        m.iter().filter(|m| m.topic == "studio/board-gui/inference" && m.payload["label"] == "wave").count()
            >= 3
    });
    app.wait_text("#gw-windows", "the windows counted", |t| number_after(t, "·").is_some_and(|n| n >= 3.0))
        .await;
    app.screenshot("integrations").await;

    app.click("#gw-stop").await;
    let ended =
        app.wait_text_for(patience, "#gw-ended", "the run's summary", |t| t.contains("stopped:")).await;
    assert!(ended.contains("1 boards seen"), "{ended}");
    subscriber.wait_until(patience, "the board's status offline", |m| {
        m.iter()
            .filter(|m| m.topic == "studio/board-gui/status")
            .next_back()
            .is_some_and(|m| m.payload["state"] == "offline")
    });
    drop(sim);
    app.client.clone().close().await.expect("session closes");
}
