//! From a trained block to a board: quantize it into a model blob (at training time, with the
//! impulse it was trained with), find a stored model's blob, and check a board's live results
//! against the host runtime.

use mote_convert::estimate::{Estimate, Footprint, estimate};
use mote_convert::{Comparison, HostBoard, ImpulseMeta, QuantizeConfig};
use mote_project::Project;
use mote_project::runs::StoredModel;
use mote_runtime::Model;
use mote_train::LearnedBlock;
use serde::Serialize;

use crate::features::FeatureSet;
use crate::impulse::Impulse;
use crate::link::BoardInfo;
use crate::training::{TrainingError, latest_model};

/// File name of the model blob in a model's folder.
pub const BLOB_FILE: &str = "model.mote";

/// The int8 model that training produced, next to the float one.
#[derive(Debug, Clone, Serialize)]
pub struct Int8Report {
    pub blob_bytes: usize,
    pub arena_bytes: usize,
    pub macs: u64,
    pub calibration_rows: usize,
    /// Float vs int8 on the test split (when it has windows).
    pub comparison: Option<Comparison>,
    pub footprint: Footprint,
    pub estimates: Vec<Estimate>,
}

/// The blob's metadata for a project's impulse.
pub fn impulse_meta(project_name: &str, impulse: &Impulse) -> Result<ImpulseMeta, TrainingError> {
    let stride = impulse.window.stride_samples(impulse.rate_hz).map_err(crate::impulse::ImpulseError::Dsp)?;
    Ok(ImpulseMeta {
        name: project_name.to_string(),
        rate_hz: impulse.rate_hz,
        window_samples: impulse.window_samples as u32,
        stride_samples: stride as u32,
        axes: impulse.axes.clone(),
        dsp: impulse.dsp.clone(),
    })
}

/// Quantizes a freshly trained block: calibration on the training windows, comparison on the
/// test windows (`test_truth` = class index per test row).
pub fn quantize_block(
    block: &LearnedBlock,
    meta: &ImpulseMeta,
    train: &FeatureSet,
    test: Option<(&FeatureSet, &[usize])>,
    uncertain_threshold: f32,
) -> Result<(Vec<u8>, Int8Report), TrainingError> {
    let convert_error = |e: mote_convert::QuantizeError| TrainingError::Convert(e.to_string());
    let (blob, calibration_rows) = match block {
        LearnedBlock::Classifier(model) => {
            let exported = model.export();
            let quantized =
                mote_convert::quantize(&exported, meta, &train.features, &QuantizeConfig::default())
                    .map_err(convert_error)?;
            (quantized.blob, quantized.calibration_rows)
        }
        LearnedBlock::Anomaly(model) => (mote_convert::anomaly_blob(model, meta).map_err(convert_error)?, 0),
    };
    let model = Model::parse(&blob).map_err(|e| TrainingError::Convert(e.to_string()))?;
    let comparison = match (block, test) {
        (LearnedBlock::Classifier(float), Some((test, truth))) if test.n_rows() > 0 => Some(
            mote_convert::compare(&float.export(), &model, &test.features, truth, uncertain_threshold)
                .map_err(|e| TrainingError::Convert(e.to_string()))?,
        ),
        _ => None,
    };
    let report = Int8Report {
        blob_bytes: blob.len(),
        arena_bytes: model.arena_len(),
        macs: model.macs(),
        calibration_rows,
        comparison,
        footprint: Footprint::of(&model),
        estimates: estimate(&model),
    };
    Ok((blob, report))
}

/// The blob of a stored model (`None` = the newest).
pub async fn model_blob(
    project: &Project,
    model: Option<i64>,
) -> Result<(StoredModel, Vec<u8>), TrainingError> {
    let stored = match model {
        None => latest_model(project).await?,
        Some(id) => project
            .list_models()
            .await?
            .into_iter()
            .find(|m| m.id.0 == id)
            .ok_or(TrainingError::UnknownModel(id))?,
    };
    let path = project.model_dir(&stored).join(BLOB_FILE);
    let blob = std::fs::read(&path).map_err(|_| TrainingError::NoBlob(stored.id.0))?;
    Model::parse(&blob).map_err(|e| TrainingError::Convert(format!("{}: {e}", path.display())))?;
    Ok((stored, blob))
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
    pub fn new(blob: &[u8], board: &BoardInfo) -> Result<Self, TrainingError> {
        let model = Model::parse(blob).map_err(|e| TrainingError::Convert(e.to_string()))?;
        let scales = board_scales(&model, board).ok_or_else(|| {
            TrainingError::Convert(format!("{} has no sensor with the model's axes", board.board))
        })?;
        HostBoard::new(blob, &scales).map_err(|e| TrainingError::Convert(e.to_string()))?;
        Ok(Self { blob: blob.to_vec(), scales, pending: None, compared: 0, mismatches: 0 })
    }

    /// A board result arrived; its window follows in parts.
    pub fn result(&mut self, seq: u32, scores: &[i8]) {
        self.pending = Some((seq, scores.to_vec(), Vec::new()));
    }

    /// A part of the window behind result `seq`; returns the comparison once the window is whole.
    pub fn window_part(
        &mut self,
        seq: u32,
        offset: u32,
        total: u32,
        values: &[i16],
    ) -> Option<ParityOutcome> {
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
        let host_scores = HostBoard::new(&self.blob, &self.scales)
            .and_then(|mut host| host.classify(&window))
            .map(|result| result.scores)
            .unwrap_or_default();
        let identical = host_scores == board_scores;
        self.compared += 1;
        self.mismatches += u64::from(!identical);
        Some(ParityOutcome { seq, board_scores, host_scores, identical })
    }
}
