//! Host/board parity: re-running a board's windows on the host with the same DSP and runtime,
//! and comparing the scores bit for bit.

use mote_convert::{HostBoard, HostRunError};
use mote_runtime::{BlobError, Model};
use serde::Serialize;

use crate::link::BoardInfo;

#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    #[error("the model blob is not valid: {0}")]
    Blob(BlobError),
    #[error("{board} has no sensor with the model's axes ({axes})")]
    NoSensor { board: String, axes: String },
    #[error("the host cannot run the model: {0}")]
    Setup(#[from] HostRunError),
    #[error("the host could not re-run window {seq}: {source}")]
    Host { seq: u32, source: HostRunError },
}

impl ParityError {
    pub fn code(&self) -> &'static str {
        match self {
            ParityError::Blob(_) => "parity.blob",
            ParityError::NoSensor { .. } => "parity.no_sensor",
            ParityError::Setup(_) => "parity.setup",
            ParityError::Host { .. } => "parity.host",
        }
    }
}

/// The scale of each model axis on `board` (the sensor with all the model's axes).
pub fn board_scales(model: &Model<'_>, board: &BoardInfo) -> Option<Vec<f32>> {
    board.sensors.iter().find_map(|sensor| {
        model
            .axes()
            .map(|axis| sensor.axes.iter().find(|a| a.name == axis).map(|a| a.scale))
            .collect::<Option<Vec<f32>>>()
    })
}

/// Re-runs a board's windows on the host and compares the scores bit for bit.
pub struct ParityCheck {
    blob: Vec<u8>,
    scales: Vec<f32>,
    pending: Option<(u32, Vec<i8>, Vec<i16>)>,
    /// Windows compared so far, and how many differed.
    pub compared: u64,
    pub mismatches: u64,
}

/// The outcome of one compared window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParityOutcome {
    pub seq: u32,
    pub board_scores: Vec<i8>,
    pub host_scores: Vec<i8>,
    pub identical: bool,
}

impl ParityCheck {
    pub fn new(blob: &[u8], board: &BoardInfo) -> Result<Self, ParityError> {
        let model = Model::parse(blob).map_err(ParityError::Blob)?;
        let scales = board_scales(&model, board).ok_or_else(|| ParityError::NoSensor {
            board: board.board.clone(),
            axes: model.axes().map(str::to_string).collect::<Vec<_>>().join(", "),
        })?;
        HostBoard::new(blob, &scales)?;
        Ok(Self { blob: blob.to_vec(), scales, pending: None, compared: 0, mismatches: 0 })
    }

    /// A board result arrived; its window follows in parts.
    pub fn result(&mut self, seq: u32, scores: &[i8]) {
        self.pending = Some((seq, scores.to_vec(), Vec::new()));
    }

    /// A part of the window behind result `seq`; returns the comparison once the window is whole,
    /// or the host's failure to classify it (which is not counted as a mismatch).
    pub fn window_part(
        &mut self,
        seq: u32,
        offset: u32,
        total: u32,
        values: &[i16],
    ) -> Option<Result<ParityOutcome, ParityError>> {
        let (pending_seq, _, window) = self.pending.as_mut()?;
        if *pending_seq != seq || offset as usize != window.len() {
            // A part was lost: skip this window.
            self.pending = None;
            return None;
        }
        window.extend_from_slice(values);
        if window.len() < total as usize {
            return None;
        }
        let (seq, board_scores, window) = self.pending.take()?;
        let host = HostBoard::new(&self.blob, &self.scales).and_then(|mut host| host.classify(&window));
        let host_scores = match host {
            Ok(result) => result.scores,
            Err(source) => return Some(Err(ParityError::Host { seq, source })),
        };
        let identical = host_scores == board_scores;
        self.compared += 1;
        self.mismatches += u64::from(!identical);
        Some(Ok(ParityOutcome { seq, board_scores, host_scores, identical }))
    }
}
