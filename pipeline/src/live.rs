//! Live on-board classification, seen from the host: start inference on a board, turn its
//! results into labelled windows, and optionally re-run every window on the host to check that
//! the board computed exactly what the host runtime computes.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mote_runtime::Model;
use serde::Serialize;

use crate::deploy::ParityCheck;
use crate::link::{Board, Event, LinkError, Reply};

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
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("{0}")]
    Model(String),
    #[error("the board stopped sending results ({0} s without one)")]
    Silent(u64),
}

impl LiveError {
    pub fn code(&self) -> &'static str {
        match self {
            LiveError::Link(error) => error.code(),
            LiveError::Model(_) => "live.model",
            LiveError::Silent(_) => "live.silent",
        }
    }
}

/// Runs live classification until `cancel`, `max_windows`, or `on_window` says stop; stops the
/// board's inference before returning (also on error, when the board is still there). `blob` is
/// the model the board runs, for labels and for `verify`.
pub async fn run_live(
    board: &mut Board,
    blob: Option<&[u8]>,
    options: &LiveOptions,
    cancel: &AtomicBool,
    mut on_window: impl FnMut(&LiveWindow) -> ControlFlow<()>,
) -> Result<LiveSummary, LiveError> {
    let model = blob.map(Model::parse).transpose().map_err(|e| LiveError::Model(e.to_string()))?;
    let labels: Vec<String> = model.map(|m| m.labels().map(str::to_string).collect()).unwrap_or_default();
    let mut parity = match (options.verify, blob) {
        (true, Some(blob)) => {
            Some(ParityCheck::new(blob, board.info()).map_err(|e| LiveError::Model(e.to_string()))?)
        }
        (true, None) => return Err(LiveError::Model("verifying needs the model the board runs".into())),
        (false, _) => None,
    };
    board.discard_pending();
    board.start_inference(options.verify).await?;
    let outcome = receive(board, &labels, parity.as_mut(), options, cancel, &mut on_window).await;
    let stopped = board.stop_inference().await;
    let summary = outcome?;
    if let Err(error) = stopped
        && !matches!(error, LinkError::Disconnected { .. })
    {
        return Err(error.into());
    }
    Ok(summary)
}

/// Longest wait for the next result before the board counts as silent.
const SILENCE: Duration = Duration::from_secs(10);

async fn receive(
    board: &mut Board,
    labels: &[String],
    mut parity: Option<&mut ParityCheck<'_>>,
    options: &LiveOptions,
    cancel: &AtomicBool,
    on_window: &mut impl FnMut(&LiveWindow) -> ControlFlow<()>,
) -> Result<LiveSummary, LiveError> {
    let mut summary = LiveSummary { per_class: vec![0; labels.len()], ..LiveSummary::default() };
    // With verify, a result is reported once its window arrived (or the next result came).
    let mut waiting: Option<LiveWindow> = None;
    let mut last_result = std::time::Instant::now();
    let mut report = |window: LiveWindow, summary: &mut LiveSummary| -> ControlFlow<()> {
        summary.windows += 1;
        if summary.per_class.len() <= window.top {
            summary.per_class.resize(window.top + 1, 0);
        }
        summary.per_class[window.top] += 1;
        match window.parity {
            Some(true) => summary.verified += 1,
            Some(false) => {
                summary.verified += 1;
                summary.mismatches += 1;
            }
            None if options.verify => summary.unverified += 1,
            None => {}
        }
        let flow = on_window(&window);
        if options.max_windows.is_some_and(|max| summary.windows >= max) {
            ControlFlow::Break(())
        } else {
            flow
        }
    };
    while !cancel.load(Ordering::Relaxed) {
        if last_result.elapsed() > SILENCE {
            return Err(LiveError::Silent(SILENCE.as_secs()));
        }
        let Some(event) = board.next_event(Duration::from_millis(100)).await else { continue };
        match event {
            Event::Reply(Reply::Inference(result)) => {
                last_result = std::time::Instant::now();
                if let Some(previous) = waiting.take()
                    && report(previous, &mut summary).is_break()
                {
                    return Ok(summary);
                }
                let top = usize::from(result.top);
                let window = LiveWindow {
                    seq: result.seq,
                    t_us: result.t_us,
                    top,
                    label: labels.get(top).cloned(),
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
                };
                match parity.as_deref_mut() {
                    Some(check) => {
                        check.result(result.seq, &result.scores);
                        waiting = Some(window);
                    }
                    None => {
                        if report(window, &mut summary).is_break() {
                            return Ok(summary);
                        }
                    }
                }
            }
            Event::Reply(Reply::Window(part)) => {
                let Some(check) = parity.as_deref_mut() else { continue };
                if let Some(outcome) = check.window_part(part.seq, part.offset, part.total, &part.values)
                    && let Some(mut window) = waiting.take()
                {
                    window.parity = Some(outcome.identical);
                    if report(window, &mut summary).is_break() {
                        return Ok(summary);
                    }
                }
            }
            Event::Reply(Reply::Error { code, detail }) => {
                return Err(LinkError::Refused { request: "StartInference", code, detail }.into());
            }
            Event::Closed(reason) => {
                return Err(LinkError::Disconnected { port: board.port().to_string(), reason }.into());
            }
            // Sample batches of a stream that runs alongside, and anything else: not ours.
            _ => {}
        }
    }
    Ok(summary)
}
