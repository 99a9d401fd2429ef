//! A device session: one task owns a connected [`Board`] and carries out commands sent to it —
//! switch a virtual board's activity, watch a sensor live, disconnect — so an app with many
//! callers never shares the board itself. Live samples go to a sink the caller supplies.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::board::{Board, Event, Reply};
use super::error::LinkError;
use super::stats::StreamStats;
use super::stream::{Capture, CaptureProgress, CaptureRequest, capture};
use super::types::{BoardInfo, ModelSlot};

/// Samples of a live stream, as they arrive.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveBatch {
    pub first_sample: u64,
    /// Interleaved raw counts (multiply by each axis's scale).
    pub values: Vec<i16>,
    pub stats: StreamStats,
}

/// Where live batches go; returning `false` stops the stream (e.g. the window closed).
pub type LiveSink = Box<dyn FnMut(LiveBatch) -> bool + Send>;

/// Where a board's inference replies go — its results and, when windows are echoed, the windows
/// behind them; returning `false` stops on-board inference. The session only carries them:
/// turning them into labelled, verified windows is the caller's (`live::LiveDecoder`).
pub type InferenceSink = Box<dyn FnMut(&Reply) -> bool + Send>;

/// Why a session ended; sent once to the `on_end` callback.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionEnd {
    pub port: String,
    /// `None` when closed on request.
    pub error: Option<String>,
}

enum Command {
    SetActivity {
        name: String,
        reply: oneshot::Sender<Result<(), LinkError>>,
    },
    StartLive {
        sensor: String,
        rate_hz: u32,
        sink: LiveSink,
        reply: oneshot::Sender<Result<(), LinkError>>,
    },
    StopLive {
        reply: oneshot::Sender<()>,
    },
    Capture {
        request: CaptureRequest,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
        progress: Box<dyn FnMut(&CaptureProgress<'_>) + Send>,
        reply: oneshot::Sender<Result<Capture, LinkError>>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
    Deploy {
        blob: Vec<u8>,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
        progress: Box<dyn FnMut(u32, u32) + Send>,
        reply: oneshot::Sender<Result<ModelSlot, LinkError>>,
    },
    StartClassify {
        echo_windows: bool,
        sink: InferenceSink,
        reply: oneshot::Sender<Result<(), LinkError>>,
    },
    StopClassify {
        reply: oneshot::Sender<()>,
    },
}

struct Classify {
    sink: InferenceSink,
}

/// A handle to a running session; cheap to clone.
#[derive(Clone)]
pub struct Session {
    info: BoardInfo,
    port: String,
    commands: mpsc::Sender<Command>,
}

struct Live {
    stream: u8,
    sink: LiveSink,
    stats: StreamStats,
}

impl Session {
    /// Starts the session task for `board`. `on_end` is called once when it ends.
    pub fn start(board: Board, on_end: impl FnOnce(SessionEnd) + Send + 'static) -> Session {
        let (commands, receiver) = mpsc::channel(16);
        let session = Session { info: board.info().clone(), port: board.port().to_string(), commands };
        tokio::spawn(run(board, receiver, on_end));
        session
    }

    pub fn info(&self) -> &BoardInfo {
        &self.info
    }

    pub fn port(&self) -> &str {
        &self.port
    }

    async fn call<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, LinkError> {
        let (reply, answer) = oneshot::channel();
        let gone =
            || LinkError::Disconnected { port: self.port.clone(), reason: "the session has ended".into() };
        self.commands.send(command(reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }

    pub async fn set_activity(&self, name: &str) -> Result<(), LinkError> {
        self.call(|reply| Command::SetActivity { name: name.to_string(), reply }).await?
    }

    /// Streams `sensor` into `sink` until [`Session::stop_live`] (or the sink says stop).
    pub async fn start_live(&self, sensor: &str, rate_hz: u32, sink: LiveSink) -> Result<(), LinkError> {
        self.call(|reply| Command::StartLive { sensor: sensor.to_string(), rate_hz, sink, reply }).await?
    }

    /// Records `request` (stopping any live stream first); `progress` sees every batch.
    pub async fn capture(
        &self,
        request: CaptureRequest,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
        progress: Box<dyn FnMut(&CaptureProgress<'_>) + Send>,
    ) -> Result<Capture, LinkError> {
        self.call(|reply| Command::Capture { request, cancel, progress, reply }).await?
    }

    pub async fn stop_live(&self) -> Result<(), LinkError> {
        self.call(|reply| Command::StopLive { reply }).await
    }

    pub async fn close(&self) {
        let _ = self.call(|reply| Command::Close { reply }).await;
    }

    /// Uploads a model blob into the board's inactive slot (live streams and inference stop
    /// first); `progress(sent, total)` after every chunk.
    pub async fn deploy(
        &self,
        blob: Vec<u8>,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
        progress: Box<dyn FnMut(u32, u32) + Send>,
    ) -> Result<ModelSlot, LinkError> {
        self.call(|reply| Command::Deploy { blob, cancel, progress, reply }).await?
    }

    /// Starts on-board classification (the board also sends each window when `echo_windows`);
    /// its replies go to `sink` until [`Session::stop_classify`]. A live stream may run alongside.
    pub async fn start_classify(&self, echo_windows: bool, sink: InferenceSink) -> Result<(), LinkError> {
        self.call(|reply| Command::StartClassify { echo_windows, sink, reply }).await?
    }

    pub async fn stop_classify(&self) -> Result<(), LinkError> {
        self.call(|reply| Command::StopClassify { reply }).await
    }
}

async fn run(
    mut board: Board,
    mut commands: mpsc::Receiver<Command>,
    on_end: impl FnOnce(SessionEnd) + Send + 'static,
) {
    let mut live: Option<Live> = None;
    let mut classify: Option<Classify> = None;
    let error = loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => break None,
                Some(Command::Close { reply }) => {
                    stop(&mut board, &mut live).await;
                    stop_classify(&mut board, &mut classify).await;
                    let _ = reply.send(());
                    break None;
                }
                Some(Command::Deploy { blob, cancel, mut progress, reply }) => {
                    stop(&mut board, &mut live).await;
                    stop_classify(&mut board, &mut classify).await;
                    let result = board.upload_model(&blob, &cancel, |sent, total| progress(sent, total)).await;
                    let _ = reply.send(result);
                }
                Some(Command::StartClassify { echo_windows, sink, reply }) => {
                    stop_classify(&mut board, &mut classify).await;
                    let result = board.start_inference(echo_windows).await.map(|()| classify = Some(Classify { sink }));
                    let _ = reply.send(result);
                }
                Some(Command::StopClassify { reply }) => {
                    stop_classify(&mut board, &mut classify).await;
                    let _ = reply.send(());
                }
                Some(Command::StopLive { reply }) => {
                    stop(&mut board, &mut live).await;
                    let _ = reply.send(());
                }
                Some(Command::Capture { request, cancel, mut progress, reply }) => {
                    stop(&mut board, &mut live).await;
                    stop_classify(&mut board, &mut classify).await;
                    let result = capture(&mut board, &request, &cancel, |update| progress(update)).await;
                    let disconnected = matches!(&result, Ok(c) if matches!(c.end, super::stream::CaptureEnd::Disconnected { .. }));
                    let _ = reply.send(result);
                    if disconnected {
                        break Some("the board disconnected during a recording".to_string());
                    }
                }
                Some(Command::SetActivity { name, reply }) => {
                    let _ = reply.send(board.set_activity(&name).await);
                }
                Some(Command::StartLive { sensor, rate_hz, sink, reply }) => {
                    stop(&mut board, &mut live).await;
                    let result = start(&mut board, &sensor, rate_hz, sink).await.map(|started| live = Some(started));
                    let _ = reply.send(result);
                }
            },
            // Always listening, so a pulled cable is noticed even when nothing streams.
            event = board.next_event(Duration::from_millis(200)) => match event {
                Some(Event::Batch(batch)) => {
                    if let Some(current) = live.as_mut().filter(|l| l.stream == batch.stream) {
                        current.stats.observe(&batch);
                        let keep = (current.sink)(LiveBatch {
                            first_sample: batch.first_sample,
                            values: batch.values,
                            stats: current.stats.clone(),
                        });
                        if !keep {
                            stop(&mut board, &mut live).await;
                        }
                    }
                }
                Some(Event::Reply(reply)) => {
                    if let Some(current) = classify.as_mut() {
                        let keep = (current.sink)(&reply);
                        if !keep {
                            stop_classify(&mut board, &mut classify).await;
                        }
                    }
                }
                Some(Event::Closed(reason)) => break Some(reason),
                _ => {}
            },
        }
    };
    on_end(SessionEnd { port: board.port().to_string(), error });
}

async fn start(board: &mut Board, sensor: &str, rate_hz: u32, sink: LiveSink) -> Result<Live, LinkError> {
    let sensor_idx = board
        .info()
        .sensor_index(sensor)
        .ok_or_else(|| LinkError::Invalid(format!("the board has no sensor `{sensor}`")))?;
    let n_axes = board.info().sensors[usize::from(sensor_idx)].axes.len();
    let started = board.start_stream(sensor_idx, rate_hz).await?;
    Ok(Live { stream: started.stream, sink, stats: StreamStats::new(rate_hz, n_axes) })
}

async fn stop(board: &mut Board, live: &mut Option<Live>) {
    if let Some(current) = live.take() {
        let _ = board.stop_stream(current.stream).await;
    }
}

async fn stop_classify(board: &mut Board, classify: &mut Option<Classify>) {
    if classify.take().is_some() {
        let _ = board.stop_inference().await;
    }
}
