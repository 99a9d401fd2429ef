//! The MQTT gateway under load (issue 16): 8 virtual boards sampling at 100 Hz, each classifying
//! a 1 s window every 100 ms on board, through one `mote gateway` to a real mosquitto, on this
//! machine — plain TCP against TLS in the same run, same boards, same model:
//!
//! - inference messages per second received by a subscriber;
//! - the gateway's CPU use (its user + system time over the measured span, % of one core);
//! - latency from the gateway receiving a board's result to the subscriber receiving the message
//!   (both on this host's clock), p50 and p99;
//! - latency from the board's window end to the subscriber: the boards' clocks are not the
//!   host's, so per board the smallest delay counts as zero and the figures are what comes on
//!   top of it (serial link, gateway, broker), p50 and p99.
//!
//! `cargo test -p mote-e2e --bench gateway` (debug build, as the other benches; needs mosquitto
//! and openssl). Figures in docs/benchmarks.md.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mote_e2e::mqtt::{Mosquitto, Received, Subscriber};
use mote_e2e::{SimProcess, gestures_project, mote_ok, workspace_binary};

const BOARDS: usize = 8;
const WARM_UP: Duration = Duration::from_secs(8);
const MEASURE: Duration = Duration::from_secs(30);

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after the command.
    (ticks(11) + ticks(12)) / per_second
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Figures {
    messages_per_s: f64,
    cpu_percent: f64,
    gateway_p50: f64,
    gateway_p99: f64,
    board_p50: f64,
    board_p99: f64,
    windows: usize,
}

fn measure(
    mode: &str,
    url: &str,
    ca: Option<&str>,
    registry: &std::path::Path,
    project: &str,
    broker: &Mosquitto,
) -> Figures {
    let subscriber = Subscriber::start(broker, "mote/+/inference");
    std::thread::sleep(Duration::from_secs(1));
    let state = tempfile::tempdir().unwrap();
    let mut command = Command::new(workspace_binary("mote"));
    command
        .args(["gateway", "--broker", url, "--project", project, "--id", mode])
        .arg("--state")
        .arg(state.path());
    if let Some(ca) = ca {
        command.args(["--ca", ca, "--username", "mote"]).env("MOTE_MQTT_PASSWORD", "secret");
    }
    let mut gateway: Child = command
        .env("MOTE_RUNTIME_DIR", registry)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    std::thread::sleep(WARM_UP);
    let start_count = subscriber.received().len();
    let start_cpu = cpu_seconds(gateway.id());
    let started = std::time::Instant::now();
    std::thread::sleep(MEASURE);
    let cpu = cpu_seconds(gateway.id()) - start_cpu;
    let elapsed = started.elapsed().as_secs_f64();
    let received = subscriber.received();
    unsafe { libc::kill(gateway.id() as i32, libc::SIGINT) };
    let _ = gateway.wait();
    let span: Vec<&Received> = received[start_count..].iter().collect();
    let mut to_subscriber: Vec<f64> =
        span.iter().filter_map(|m| m.payload["time_ms"].as_f64().map(|sent| m.at_ms - sent)).collect();
    to_subscriber.sort_by(f64::total_cmp);
    // Board window end → subscriber, less each board's smallest delay.
    let mut per_board: HashMap<String, Vec<f64>> = HashMap::new();
    for m in &received {
        let (Some(device), Some(board_us)) =
            (m.payload["device"].as_str(), m.payload["board_time_us"].as_u64())
        else {
            continue;
        };
        per_board.entry(device.to_string()).or_default().push(m.at_ms - board_us as f64 / 1000.0);
    }
    let mut on_top: Vec<f64> = Vec::new();
    for delays in per_board.values() {
        let least = delays.iter().copied().fold(f64::INFINITY, f64::min);
        on_top.extend(delays.iter().map(|d| d - least));
    }
    on_top.sort_by(f64::total_cmp);
    Figures {
        messages_per_s: span.len() as f64 / elapsed,
        cpu_percent: 100.0 * cpu / elapsed,
        gateway_p50: percentile(&to_subscriber, 0.5),
        gateway_p99: percentile(&to_subscriber, 0.99),
        board_p50: percentile(&on_top, 0.5),
        board_p99: percentile(&on_top, 0.99),
        windows: span.len(),
    }
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    eprintln!("training the gestures model (1 s windows every 100 ms)…");
    let project = gestures_project(work.path(), Some(100));
    let registry = work.path().join("run");
    std::fs::create_dir_all(&registry).unwrap();
    let gestures = ["wave", "circle", "shake", "idle"];
    let mut boards = Vec::new();
    for n in 0..BOARDS {
        let device = format!("bench-{n}");
        let flash = work.path().join(format!("{device}.flash"));
        let script = gestures[n % gestures.len()];
        let sim = SimProcess::start_registered(
            &registry,
            &flash,
            &["--script", script, "--seed", &n.to_string(), "--device-id", &device],
        );
        mote_ok(&["deploy", "--project", &project, "--port", &sim.path()]);
        boards.push(sim);
    }
    let (broker, tls_port, ca) = Mosquitto::start_tls();
    let plain = measure("plain", &broker.url(), None, &registry, &project, &broker);
    let tls = measure(
        "tls",
        &format!("mqtts://127.0.0.1:{tls_port}"),
        Some(ca.to_str().unwrap()),
        &registry,
        &project,
        &broker,
    );
    drop(boards);
    println!(
        "| link | inference msgs/s | gateway CPU (% of a core) | gateway → subscriber p50 / p99 | board window end → subscriber, above the least, p50 / p99 | windows measured |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, f) in [("TCP", &plain), ("TLS 1.3 + password", &tls)] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.2} / {:.2} ms | {:.1} / {:.1} ms | {} |",
            f.messages_per_s,
            f.cpu_percent,
            f.gateway_p50,
            f.gateway_p99,
            f.board_p50,
            f.board_p99,
            f.windows
        );
    }
    println!(
        "TLS / TCP: CPU {:.2}×, p50 {:.2}×, p99 {:.2}×",
        tls.cpu_percent / plain.cpu_percent,
        tls.gateway_p50 / plain.gateway_p50,
        tls.gateway_p99 / plain.gateway_p99
    );
}
