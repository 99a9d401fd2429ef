//! The impulse: how a project turns recordings into model inputs — which axes, how windows are
//! cut, which DSP block, which learning block — read from `mote.toml` and checked as a whole.

use mote_dsp::{DspConfig, FeatureBlock, OutputShape, WindowSpec};
use mote_project::{BlockConfig, ProjectConfig};
use mote_train::LearnConfig;

#[derive(Debug, thiserror::Error)]
pub enum ImpulseError {
    #[error("mote.toml [{section}]: {message}")]
    Config { section: &'static str, message: String },
    #[error("the DSP block does not fit the window: {0}")]
    Dsp(#[from] mote_dsp::DspError),
}

impl ImpulseError {
    pub fn code(&self) -> &'static str {
        match self {
            ImpulseError::Config { .. } => "impulse.config",
            ImpulseError::Dsp(_) => "impulse.dsp",
        }
    }
}

/// A checked impulse.
#[derive(Debug, Clone)]
pub struct Impulse {
    pub axes: Vec<String>,
    pub rate_hz: f32,
    pub window: WindowSpec,
    pub dsp: DspConfig,
    pub learn: LearnConfig,
    /// Samples per window.
    pub window_samples: usize,
    /// Features per window, and their layout.
    pub output: OutputShape,
}

fn table(block: &BlockConfig) -> toml::Value {
    let mut table = block.params.clone();
    table.insert("block".into(), toml::Value::String(block.block.clone()));
    toml::Value::Table(table)
}

impl Impulse {
    pub fn from_config(config: &ProjectConfig) -> Result<Impulse, ImpulseError> {
        let dsp: DspConfig = table(&config.dsp).try_into().map_err(|e: toml::de::Error| {
            ImpulseError::Config { section: "dsp", message: e.message().to_string() }
        })?;
        let mut learn_table = table(&config.learn);
        if let toml::Value::Table(learn) = &mut learn_table
            && !learn.contains_key("seed")
        {
            learn.insert("seed".into(), toml::Value::Integer(config.project.seed as i64));
        }
        let learn: LearnConfig = learn_table.try_into().map_err(|e: toml::de::Error| {
            ImpulseError::Config { section: "learn", message: e.message().to_string() }
        })?;
        let rate_hz = config.data.rate_hz as f32;
        let window = WindowSpec {
            length_ms: config.window.length_ms as f32,
            stride_ms: config.window.stride_ms as f32,
        };
        let window_samples = window.length_samples(rate_hz)?;
        let n_axes = config.data.axes.len();
        dsp.validate(window_samples, n_axes, rate_hz)?;
        let output = dsp.output_shape(window_samples, n_axes, rate_hz)?;
        Ok(Impulse { axes: config.data.axes.clone(), rate_hz, window, dsp, learn, window_samples, output })
    }
}
