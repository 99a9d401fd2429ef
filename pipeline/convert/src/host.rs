//! The board's computation, on the host: DSP block then int8 network on one raw window, with
//! the same `mote-dsp` and `mote-runtime` code — used to evaluate and to check a board's results
//! bit for bit.

use mote_dsp::FeatureBlock;
use mote_runtime::{BlobError, Model, RunError};

/// One window classified the way a board classifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowResult {
    pub features: Vec<f32>,
    pub scores: Vec<i8>,
    pub top: usize,
    pub anomaly: Option<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum HostRunError {
    #[error("the model blob is not valid: {0}")]
    Blob(#[from] BlobError),
    #[error("the window has {found} values; the model reads {expected} ({samples} samples × {axes} axes)")]
    WindowLength { expected: usize, found: usize, samples: usize, axes: usize },
    #[error("{found} axis scales given; the model reads {expected} axes")]
    Scales { expected: usize, found: usize },
    #[error("the DSP block failed: {0}")]
    Dsp(#[from] mote_dsp::DspError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A model with its working memory, ready to classify raw windows.
pub struct HostBoard<'b> {
    model: Model<'b>,
    dsp: mote_dsp::DspConfig,
    scales: Vec<f32>,
    features: Vec<f32>,
    scratch: Vec<f32>,
    arena: Vec<u8>,
}

impl<'b> HostBoard<'b> {
    /// `scales` converts each model axis's raw `i16` to its unit (the board's `AxisInfo::scale`).
    pub fn new(blob: &'b [u8], scales: &[f32]) -> Result<Self, HostRunError> {
        let model = Model::parse(blob)?;
        if scales.len() != model.n_axes() {
            return Err(HostRunError::Scales { expected: model.n_axes(), found: scales.len() });
        }
        let dsp = model.dsp();
        let scratch = dsp.scratch_len(model.window_samples(), model.n_axes(), model.rate_hz())?;
        Ok(Self {
            features: vec![0.0; model.n_features()],
            scratch: vec![0.0; scratch],
            arena: vec![0; model.arena_len()],
            scales: scales.to_vec(),
            dsp,
            model,
        })
    }

    pub fn model(&self) -> &Model<'b> {
        &self.model
    }

    /// Classifies one window of raw interleaved samples (`window_samples × n_axes`).
    pub fn classify(&mut self, window: &[i16]) -> Result<WindowResult, HostRunError> {
        let (samples, axes) = (self.model.window_samples(), self.model.n_axes());
        if window.len() != samples * axes {
            return Err(HostRunError::WindowLength {
                expected: samples * axes,
                found: window.len(),
                samples,
                axes,
            });
        }
        self.dsp.compute(
            window,
            axes,
            &self.scales,
            self.model.rate_hz(),
            &mut self.features,
            &mut self.scratch,
        )?;
        let anomaly = self.model.anomaly_score(&self.features);
        let (scores, top) = if self.model.has_classifier() {
            let result = self.model.classify(&self.features, &mut self.arena)?;
            (result.scores.to_vec(), result.top)
        } else {
            (Vec::new(), 0)
        };
        Ok(WindowResult { features: self.features.clone(), scores, top, anomaly })
    }
}
