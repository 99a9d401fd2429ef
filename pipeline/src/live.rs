//! Live on-board classification, seen from the host: start inference on a board, turn its
//! results into labelled windows, and optionally re-run every window on the host to check that
//! the board computed exactly what the host runtime computes.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mote_runtime::Model;
use serde::Serialize;

use crate::link::{Board, BoardInfo, Event, LinkError, Reply};
use crate::models::{ModelError, model_blob};
use crate::parity::{ParityCheck, ParityError};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Ask the board for each window and compare with the host runtime.
    pub verify: bool,
    /// Stop after this many windows (`None`: until cancelled or `on_window` breaks).
    pub max_windows: Option<u64>,
}

/// One classified window as the host shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveWindow {
    pub seq: u32,
    pub t_us: u64,
    pub top: usize,
    /// The top class's name, when the host knows the model.
    pub label: Option<String>,
    /// `(score + 128) / 256` per class.
    pub probabilities: Vec<f32>,
    pub scores: Vec<i8>,
    pub anomaly: Option<f32>,
    pub dsp_us: u32,
    pub nn_us: u32,
    pub dsp_instructions: Option<u32>,
    pub nn_instructions: Option<u32>,
    /// With `verify`: whether the host computed the same scores for the same window.
    pub parity: Option<bool>,
    /// With `verify`: why the host could not re-run this window (not a board mismatch).
    pub parity_error: Option<String>,
}

/// How a live session went.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveSummary {
    pub windows: u64,
    /// Windows per class index.
    pub per_class: Vec<u64>,
    pub verified: u64,
    pub mismatches: u64,
    /// Board results whose window never arrived whole (lost frames), so were not compared.
    pub unverified: u64,
    /// Windows the host failed to re-run (see `LiveWindow::parity_error`), so were not compared.
    pub host_failures: u64,
}

impl LiveSummary {
    fn count(&mut self, window: &LiveWindow, verify: bool) {
        self.windows += 1;
        if self.per_class.len() <= window.top {
            self.per_class.resize(window.top + 1, 0);
        }
        self.per_class[window.top] += 1;
        match (window.parity, &window.parity_error) {
            (Some(identical), _) => {
                self.verified += 1;
                self.mismatches += u64::from(!identical);
            }
            (None, Some(_)) => self.host_failures += 1,
            (None, None) if verify => self.unverified += 1,
            (None, None) => {}
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the model blob is not valid: {0}")]
    Blob(mote_runtime::BlobError),
    #[error("verifying needs the model the board runs; train and deploy one first")]
    NothingToVerify,
    #[error(transparent)]
    Parity(#[from] ParityError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the board stopped sending results ({0} s without one)")]
    Silent(u64),
}

impl LiveError {
    pub fn code(&self) -> &'static str {
        match self {
            LiveError::Link(error) => error.code(),
            LiveError::Blob(_) => "live.model",
            LiveError::NothingToVerify => "live.nothing_to_verify",
            LiveError::Parity(error) => error.code(),
            LiveError::Model(error) => error.code(),
            LiveError::Silent(_) => "live.silent",
        }
    }
}

/// Turns a board's `InferenceResult`s (and, when verifying, `InferenceWindow`s) into
/// [`LiveWindow`]s. With verification a window is released once its samples arrived and were
/// compared, or when the next result shows they never will.
pub struct LiveDecoder {
    labels: Vec<String>,
    /// Board time a full window takes (the first result can come no sooner).
    window: Duration,
    parity: Option<ParityCheck>,
    waiting: Option<LiveWindow>,
    verify: bool,
    pub summary: LiveSummary,
}

impl LiveDecoder {
    /// `blob` is the model the board runs (for labels, and needed to verify).
    pub fn new(blob: Option<&[u8]>, board: &BoardInfo, verify: bool) -> Result<Self, LiveError> {
        let model = blob.map(Model::parse).transpose().map_err(LiveError::Blob)?;
        let labels: Vec<String> =
            model.as_ref().map(|m| m.labels().map(str::to_string).collect()).unwrap_or_default();
        let window = model
            .as_ref()
            .map(|m| Duration::from_secs_f64(m.window_samples() as f64 / f64::from(m.rate_hz())))
            .unwrap_or_default();
        let parity = match (verify, blob) {
            (true, Some(blob)) => Some(ParityCheck::new(blob, board)?),
            (true, None) => return Err(LiveError::NothingToVerify),
            (false, _) => None,
        };
        let summary = LiveSummary { per_class: vec![0; labels.len()], ..LiveSummary::default() };
        Ok(Self { labels, window, parity, waiting: None, verify, summary })
    }

    /// The decoder for the newest model of `project` running on `board`: its labels, and with
    /// `verify` the host parity check. A project without a model classifies without labels and
    /// cannot verify, so `verify` is off then (`verifying()` says so); any other problem with
    /// the model is an error, never a silent "verify off".
    pub async fn for_project(
        project: &mote_project::Project,
        board: &BoardInfo,
        verify: bool,
    ) -> Result<Self, LiveError> {
        let blob = match model_blob(project, None).await {
            Ok((_, blob)) => Some(blob),
            Err(ModelError::NoModel) => None,
            Err(error) => return Err(error.into()),
        };
        LiveDecoder::new(blob.as_deref(), board, verify && blob.is_some())
    }

    pub fn verify(&self) -> bool {
        self.verify
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Takes a reply from the board; returns up to two windows ready to show.
    pub fn on_reply(&mut self, reply: &Reply) -> Vec<LiveWindow> {
        let mut ready = Vec::new();
        match reply {
            Reply::Inference(result) => {
                if let Some(previous) = self.waiting.take() {
                    ready.push(previous);
                }
                let top = usize::from(result.top);
                let window = LiveWindow {
                    seq: result.seq,
                    t_us: result.t_us,
                    top,
                    label: self.labels.get(top).cloned(),
                    probabilities: result
                        .scores
                        .iter()
                        .map(|&s| (i32::from(s) + 128) as f32 / 256.0)
                        .collect(),
                    scores: result.scores.clone(),
                    anomaly: result.anomaly,
                    dsp_us: result.dsp_us,
                    nn_us: result.nn_us,
                    dsp_instructions: result.dsp_instructions,
                    nn_instructions: result.nn_instructions,
                    parity: None,
                    parity_error: None,
                };
                match self.parity.as_mut() {
                    Some(check) => {
                        check.result(result.seq, &result.scores);
                        self.waiting = Some(window);
                    }
                    None => ready.push(window),
                }
            }
            Reply::Window(part) => {
                if let Some(check) = self.parity.as_mut()
                    && let Some(outcome) = check.window_part(part.seq, part.offset, part.total, &part.values)
                    && let Some(mut window) = self.waiting.take()
                {
                    match outcome {
                        Ok(outcome) => window.parity = Some(outcome.identical),
                        Err(error) => window.parity_error = Some(error.to_string()),
                    }
                    ready.push(window);
                }
            }
            _ => {}
        }
        for window in &ready {
            self.summary.count(window, self.verify);
        }
        ready
    }
}

/// Runs live classification until `cancel`, `max_windows`, or `on_window` says stop; stops the
/// board's inference before returning (also on error, when the board is still there).
pub async fn run_live(
    board: &mut Board,
    blob: Option<&[u8]>,
    options: &LiveOptions,
    cancel: &AtomicBool,
    mut on_window: impl FnMut(&LiveWindow) -> ControlFlow<()>,
) -> Result<LiveSummary, LiveError> {
    let mut decoder = LiveDecoder::new(blob, board.info(), options.verify)?;
    board.discard_pending();
    board.start_inference(options.verify).await?;
    let outcome = receive(board, &mut decoder, options, cancel, &mut on_window).await;
    let stopped = board.stop_inference().await;
    outcome?;
    if let Err(error) = stopped
        && !matches!(error, LinkError::Disconnected { .. })
    {
        return Err(error.into());
    }
    Ok(decoder.summary)
}

/// Longest wait for the next result before the board counts as silent, beyond the window's own
/// length (a 10 s window gives its first result after 10 s).
const SILENCE: Duration = Duration::from_secs(10);

async fn receive(
    board: &mut Board,
    decoder: &mut LiveDecoder,
    options: &LiveOptions,
    cancel: &AtomicBool,
    on_window: &mut impl FnMut(&LiveWindow) -> ControlFlow<()>,
) -> Result<(), LiveError> {
    let mut last_result = Instant::now();
    let patience = SILENCE + decoder.window;
    while !cancel.load(Ordering::Relaxed) {
        if last_result.elapsed() > patience {
            return Err(LiveError::Silent(patience.as_secs()));
        }
        let Some(event) = board.next_event(Duration::from_millis(100)).await else { continue };
        match event {
            Event::Reply(Reply::Error { code, detail }) => {
                return Err(LinkError::Refused { request: "StartInference", code, detail }.into());
            }
            Event::Reply(reply) => {
                if matches!(reply, Reply::Inference(_)) {
                    last_result = Instant::now();
                }
                for window in decoder.on_reply(&reply) {
                    let done = options.max_windows.is_some_and(|max| decoder.summary.windows >= max);
                    if on_window(&window).is_break() || done {
                        return Ok(());
                    }
                }
            }
            Event::Closed(reason) => {
                return Err(LinkError::Disconnected { port: board.port().to_string(), reason }.into());
            }
            // Sample batches of a stream that runs alongside, and frame errors: not ours.
            _ => {}
        }
    }
    Ok(())
}
