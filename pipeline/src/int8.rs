//! The int8 model every training run ends with: the trained block quantized into a model blob
//! (with the impulse it was trained with), checked by the runtime, and compared with the float
//! model on the test windows.

use mote_convert::estimate::{Estimate, Footprint, estimate};
use mote_convert::{Comparison, ImpulseMeta, QuantizeConfig, TensorQuant};
use mote_runtime::{BlobError, Model, RunError};
use mote_train::LearnedBlock;
use serde::Serialize;

use crate::features::FeatureSet;
use crate::impulse::Impulse;

#[derive(Debug, thiserror::Error)]
pub enum Int8Error {
    #[error("the window stride does not fit the rate: {0}")]
    Stride(mote_dsp::DspError),
    #[error("int8 quantization failed: {0}")]
    Quantize(#[from] mote_convert::QuantizeError),
    #[error("the quantized model does not parse (a bug in the converter): {0}")]
    Blob(BlobError),
    #[error("the int8 model failed on a test window: {0}")]
    Compare(RunError),
}

impl Int8Error {
    pub fn code(&self) -> &'static str {
        match self {
            Int8Error::Stride(_) => "impulse.dsp",
            Int8Error::Quantize(_) => "int8.quantize",
            Int8Error::Blob(_) => "int8.blob",
            Int8Error::Compare(_) => "int8.compare",
        }
    }
}

/// The int8 model that training produced, next to the float one.
#[derive(Debug, Clone, Serialize)]
pub struct Int8Report {
    pub blob_bytes: usize,
    pub arena_bytes: usize,
    pub macs: u64,
    pub calibration_rows: usize,
    /// How activation ranges were calibrated, and each tensor's quantization (input, then every
    /// layer's output): its range, scale, zero point and the share of the min/max range kept.
    pub calibration: QuantizeConfig,
    pub tensors: Vec<TensorQuant>,
    /// Float vs int8 on the test split (when it has windows).
    pub comparison: Option<Comparison>,
    pub footprint: Footprint,
    pub estimates: Vec<Estimate>,
}

/// The blob's metadata for a project's impulse.
pub fn impulse_meta(project_name: &str, impulse: &Impulse) -> Result<ImpulseMeta, Int8Error> {
    let stride = impulse.window.stride_samples(impulse.rate_hz).map_err(Int8Error::Stride)?;
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
) -> Result<(Vec<u8>, Int8Report), Int8Error> {
    let config = QuantizeConfig::default();
    let (blob, calibration_rows, tensors) = match block {
        LearnedBlock::Classifier(model) => {
            let exported = model.export();
            let quantized = mote_convert::quantize(&exported, meta, &train.features, &config)?;
            (quantized.blob, quantized.calibration_rows, quantized.tensors)
        }
        LearnedBlock::Anomaly(model) => (mote_convert::anomaly_blob(model, meta)?, 0, Vec::new()),
    };
    let model = Model::parse(&blob).map_err(Int8Error::Blob)?;
    let comparison = match (block, test) {
        (LearnedBlock::Classifier(float), Some((test, truth))) if test.n_rows() > 0 => Some(
            mote_convert::compare(&float.export(), &model, &test.features, truth, uncertain_threshold)
                .map_err(Int8Error::Compare)?,
        ),
        _ => None,
    };
    let report = Int8Report {
        blob_bytes: blob.len(),
        arena_bytes: model.arena_len(),
        macs: model.macs(),
        calibration_rows,
        calibration: config,
        tensors,
        comparison,
        footprint: Footprint::of(&model),
        estimates: estimate(&model),
    };
    Ok((blob, report))
}
