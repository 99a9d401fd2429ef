//! The app's responsiveness, measured in a real window (Xvfb + WebKitWebDriver): time from
//! launch to an interactive Dashboard, and the page's frame rate and longest frame gap while the
//! Devices page charts the virtual board's 6-axis IMU at 1.6 kHz — against the same page idle in
//! the same run. The app as shipped (no GPU here, so it draws without compositing) is compared
//! with a peer launch that forces WebKit's GPU-style compositing (`WEBKIT_DISABLE_COMPOSITING_MODE=0`),
//! which software OpenGL has to emulate.
//!
//! `cargo test -p mote-e2e --bench gui` (the debug-built app, as the tests use; the UI's cost is
//! JavaScript and WebKit either way). Figures in docs/benchmarks.md.

use std::time::{Duration, Instant};

use mote_e2e::gui::App;

/// Counts animation frames for `seconds` and returns (frames per second, longest gap in ms).
async fn frames(app: &App, seconds: f64) -> (f64, f64) {
    let script = "const [seconds, done] = [arguments[0], arguments[arguments.length - 1]]; \
                  let frames = 0, last = performance.now(), longest = 0; const start = last; \
                  function tick(now) { frames++; longest = Math.max(longest, now - last); last = now; \
                    if (now - start < seconds * 1000) requestAnimationFrame(tick); \
                    else done([frames / ((now - start) / 1000), longest]); } \
                  requestAnimationFrame(tick);";
    let value = app.client.execute_async(script, vec![seconds.into()]).await.expect("frame count");
    let pair = value.as_array().expect("[fps, longest]");
    (pair[0].as_f64().unwrap_or(0.0), pair[1].as_f64().unwrap_or(0.0))
}

async fn measure(name: &str, env: &[(&str, &str)]) {
    let wall = Instant::now();
    let app = App::launch_with_env(env).await;
    app.wait_for("nav").await;
    let shell = app.launched_at.elapsed();
    app.click("[data-page=dashboard]").await;
    app.wait_text("#project", "the project", |t| t.contains("default")).await;
    let interactive = app.launched_at.elapsed();

    app.click("[data-page=devices]").await;
    app.click("#start-virtual").await;
    app.wait_text("#board", "the virtual board", |t| t.contains("virtual-1")).await;
    app.click("[data-activity=shake]").await;
    app.set_value("#live-sensor", "imu").await;
    app.set_value("#live-rate", "1600").await;
    let (idle_fps, idle_gap) = frames(&app, 5.0).await;
    app.click("#start-live").await;
    app.wait_text("#live-stats", "1.6 kHz arriving", |t| {
        t.contains("measured rate") && !t.contains(" 0.0 Hz")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (live_fps, live_gap) = frames(&app, 10.0).await;

    let stats = app.wait_text("#live-stats", "statistics", |_| true).await;
    app.screenshot(&format!("bench-live-1600hz-{name}")).await;
    app.client.clone().close().await.expect("session closes");

    println!("── {name}");
    println!("app start → shell visible:            {:>7.0} ms", shell.as_secs_f64() * 1e3);
    println!("app start → Dashboard interactive:    {:>7.0} ms", interactive.as_secs_f64() * 1e3);
    println!("idle Devices page:                    {idle_fps:>7.1} fps, longest frame gap {idle_gap:.1} ms");
    println!("charting 6 axes at 1.6 kHz:           {live_fps:>7.1} fps, longest frame gap {live_gap:.1} ms");
    println!("streaming / idle frame rate:          {:>7.2}", live_fps / idle_fps.max(1e-9));
    println!("link while charting: {}", stats.replace('\n', " "));
    println!("(run {:.1} s)", wall.elapsed().as_secs_f64());
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    measure("as-shipped", &[]).await;
    measure("forced-compositing", &[("WEBKIT_DISABLE_COMPOSITING_MODE", "0")]).await;
}
