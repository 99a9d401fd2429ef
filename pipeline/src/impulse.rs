//! The impulse: how a project turns recordings into model inputs — which axes, how windows are
//! cut, which DSP block, which learning block — read from `mote.toml` and checked as a whole.

use mote_dsp::{DspConfig, FeatureBlock, OutputShape, Spectral, WindowSpec};
use mote_project::{BlockConfig, ProjectConfig};
use mote_train::LearnConfig;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::form::{FieldError, Form};

#[derive(Debug, thiserror::Error)]
pub enum ImpulseError {
    #[error("mote.toml [{section}]: {message}")]
    Config { section: &'static str, message: String },
    #[error("the DSP block does not fit the window: {0}")]
    Dsp(#[from] mote_dsp::DspError),
    #[error("the impulse cannot be used: {}", list(.0))]
    Fields(Vec<FieldError>),
}

fn list(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl ImpulseError {
    pub fn code(&self) -> &'static str {
        match self {
            ImpulseError::Config { .. } => "impulse.config",
            ImpulseError::Dsp(_) => "impulse.dsp",
            ImpulseError::Fields(_) => "impulse.fields",
        }
    }

    /// The error placed on the field it is about, as paths the design page knows
    /// (`window.length_ms`, `dsp.n_peaks`, `learn.augment.copies`); an error that is about no
    /// one field is placed on its section (`dsp`, `learn`).
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            ImpulseError::Fields(errors) => errors.clone(),
            ImpulseError::Dsp(error) => {
                let field = match error.parameter() {
                    Some(parameter @ ("length_ms" | "stride_ms")) => format!("window.{parameter}"),
                    Some(parameter) => format!("dsp.{parameter}"),
                    None => "dsp".to_string(),
                };
                vec![FieldError { field, message: error.to_string() }]
            }
            // The learning block's own checks name the field as `learn.<field>: <reason>`.
            ImpulseError::Config { section, message } => {
                let (field, message) = match message.split_once(": ") {
                    Some((field, reason)) if field.starts_with("learn.") && !field.contains(' ') => {
                        (field.to_string(), reason.to_string())
                    }
                    _ => (section.to_string(), message.clone()),
                };
                vec![FieldError { field, message }]
            }
        }
    }
}

/// The impulse as the design page edits it: block parameters are values in the shape of their
/// [`Form`] (unset parameters left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImpulseDraft {
    pub window_ms: u32,
    pub stride_ms: u32,
    pub dsp_block: String,
    #[cfg_attr(feature = "specta", specta(type = std::collections::BTreeMap<String, specta_typescript::Any>))]
    pub dsp_params: Map<String, Value>,
    pub learn_block: String,
    #[cfg_attr(feature = "specta", specta(type = std::collections::BTreeMap<String, specta_typescript::Any>))]
    pub learn_params: Map<String, Value>,
}

/// Every block's form, with the defaults that fit the project's data and window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImpulseForms {
    pub dsp: Vec<Form>,
    pub learn: Vec<Form>,
}

impl ImpulseForms {
    /// The forms for `config`'s data and window.
    pub fn for_config(config: &ProjectConfig) -> ImpulseForms {
        let rate_hz = config.data.rate_hz as f32;
        let window = WindowSpec {
            length_ms: config.window.length_ms as f32,
            stride_ms: config.window.stride_ms as f32,
        };
        let window_samples = window.length_samples(rate_hz).ok();
        let dsp = DspConfig::BLOCKS
            .iter()
            .filter_map(|block| {
                let fitted = window_samples.map(|samples| {
                    dsp_table(
                        &BlockConfig { block: block.to_string(), params: toml::Table::new() },
                        rate_hz,
                        samples,
                    )
                });
                let mut defaults = fitted
                    .and_then(|table| serde_json::to_value(table).ok())
                    .map(json_object)
                    .unwrap_or_default();
                defaults.remove("block");
                Form::dsp(block, &defaults)
            })
            .collect();
        let learn_defaults: Map<String, Value> =
            [("seed".to_string(), Value::from(config.project.seed))].into_iter().collect();
        let learn = mote_train::config::BLOCKS
            .iter()
            .filter_map(|block| Form::learn(block, &learn_defaults))
            .collect();
        ImpulseForms { dsp, learn }
    }

    fn dsp_form(&self, block: &str) -> Option<&Form> {
        self.dsp.iter().find(|form| form.block == block)
    }

    fn learn_form(&self, block: &str) -> Option<&Form> {
        self.learn.iter().find(|form| form.block == block)
    }
}

fn json_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl ImpulseDraft {
    /// `config`'s impulse as a draft.
    pub fn of(config: &ProjectConfig) -> ImpulseDraft {
        let forms = ImpulseForms::for_config(config);
        let values = |form: Option<&Form>, params: &toml::Table| match form {
            Some(form) => form.values(params),
            None => json_object(serde_json::to_value(params).unwrap_or(Value::Null)),
        };
        ImpulseDraft {
            window_ms: config.window.length_ms,
            stride_ms: config.window.stride_ms,
            dsp_block: config.dsp.block.clone(),
            dsp_params: values(forms.dsp_form(&config.dsp.block), &config.dsp.params),
            learn_block: config.learn.block.clone(),
            learn_params: values(forms.learn_form(&config.learn.block), &config.learn.params),
        }
    }

    /// `config` with this draft's impulse, checked as a whole; the error lists every wrong field
    /// ([`ImpulseError::field_errors`]).
    pub fn apply(&self, config: &ProjectConfig) -> Result<ProjectConfig, ImpulseError> {
        let mut next = config.clone();
        next.window.length_ms = self.window_ms;
        next.window.stride_ms = self.stride_ms;
        let forms = ImpulseForms::for_config(&next);
        let mut errors = Vec::new();
        let mut checked = |section: &str, block: &str, form: Option<&Form>, params: &Map<String, Value>| {
            let Some(form) = form else {
                errors.push(FieldError {
                    field: format!("{section}.block"),
                    message: format!("there is no block {block:?}"),
                });
                return None;
            };
            match form.check(&Value::Object(params.clone())) {
                Ok(table) => Some(BlockConfig { block: block.to_string(), params: table }),
                Err(found) => {
                    errors.extend(found.into_iter().map(|error| FieldError {
                        field: format!("{section}.{}", error.field),
                        message: error.message,
                    }));
                    None
                }
            }
        };
        let dsp = checked("dsp", &self.dsp_block, forms.dsp_form(&self.dsp_block), &self.dsp_params);
        let learn =
            checked("learn", &self.learn_block, forms.learn_form(&self.learn_block), &self.learn_params);
        let (Some(dsp), Some(learn)) = (dsp, learn) else { return Err(ImpulseError::Fields(errors)) };
        next.dsp = dsp;
        next.learn = learn;
        Impulse::from_config(&next)?;
        Ok(next)
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

/// The `[dsp]` table with the parameters a person did not set filled in with defaults that fit
/// the data: the spectral block's FFT length and bands depend on the rate and the window (see
/// `Spectral::defaults_for`); the other blocks' defaults fit any data they accept.
fn dsp_table(block: &BlockConfig, rate_hz: f32, window_samples: usize) -> toml::Value {
    let mut filled = match block.block.as_str() {
        "spectral" => {
            let fft_length = block
                .params
                .get("fft_length")
                .and_then(toml::Value::as_integer)
                .and_then(|n| u16::try_from(n).ok());
            let defaults = DspConfig::from(Spectral::defaults_for(rate_hz, window_samples, fft_length));
            toml::Table::try_from(defaults).unwrap_or_default()
        }
        _ => toml::Table::new(),
    };
    filled.extend(block.params.clone());
    filled.insert("block".into(), toml::Value::String(block.block.clone()));
    toml::Value::Table(filled)
}

impl Impulse {
    pub fn from_config(config: &ProjectConfig) -> Result<Impulse, ImpulseError> {
        let rate_hz = config.data.rate_hz as f32;
        let window = WindowSpec {
            length_ms: config.window.length_ms as f32,
            stride_ms: config.window.stride_ms as f32,
        };
        let window_samples = window.length_samples(rate_hz)?;
        let dsp: DspConfig =
            dsp_table(&config.dsp, rate_hz, window_samples).try_into().map_err(|e: toml::de::Error| {
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
        let n_axes = config.data.axes.len();
        dsp.validate(window_samples, n_axes, rate_hz)?;
        let output = dsp.output_shape(window_samples, n_axes, rate_hz)?;
        Ok(Impulse { axes: config.data.axes.clone(), rate_hz, window, dsp, learn, window_samples, output })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spectral_project(rate_hz: f64, length_ms: u32, params: &str) -> ProjectConfig {
        let mut config = ProjectConfig::new_default("spectral");
        config.data.rate_hz = rate_hz;
        config.window = mote_project::WindowSection { length_ms, stride_ms: length_ms / 2 };
        config.dsp = BlockConfig { block: "spectral".into(), params: params.parse().unwrap() };
        config
    }

    /// `block = "spectral"` with no parameters fits every rate from 10 Hz to 16 kHz and every
    /// window from 0.5 s to 10 s (at 100 Hz and 3.6 s the fixed defaults used to leave the
    /// 0.1–0.5 Hz band without an FFT bin).
    #[test]
    fn spectral_defaults_fit_every_rate_and_window() {
        for rate_hz in
            [10.0, 12.5, 25.0, 50.0, 62.5, 100.0, 200.0, 400.0, 1000.0, 1600.0, 4000.0, 8000.0, 16000.0]
        {
            for length_ms in [500, 1000, 2000, 3600, 5000, 10_000] {
                let impulse = Impulse::from_config(&spectral_project(rate_hz, length_ms, ""))
                    .unwrap_or_else(|e| panic!("{rate_hz} Hz, {length_ms} ms: {e}"));
                let window = vec![100i16; impulse.window_samples * impulse.axes.len()];
                let scales = vec![0.01f32; impulse.axes.len()];
                let mut out = vec![
                    0.0;
                    impulse
                        .dsp
                        .output_len(impulse.window_samples, impulse.axes.len(), impulse.rate_hz)
                        .unwrap()
                ];
                let mut scratch = vec![
                    0.0;
                    impulse
                        .dsp
                        .scratch_len(impulse.window_samples, impulse.axes.len(), impulse.rate_hz)
                        .unwrap()
                ];
                impulse
                    .dsp
                    .compute(&window, impulse.axes.len(), &scales, impulse.rate_hz, &mut out, &mut scratch)
                    .unwrap_or_else(|e| panic!("{rate_hz} Hz, {length_ms} ms: {e}"));
            }
        }
    }

    /// What a person sets is kept; only what they left out is derived.
    #[test]
    fn spectral_parameters_that_are_set_win_over_derived_ones() {
        let impulse =
            Impulse::from_config(&spectral_project(100.0, 3600, "fft_length = 64\nn_peaks = 2")).unwrap();
        let DspConfig::Spectral(spectral) = &impulse.dsp else { panic!("{:?}", impulse.dsp) };
        assert_eq!((spectral.fft_length, spectral.n_peaks), (64, 2));
        assert_eq!(spectral.bands, mote_dsp::Bands::Equal(4), "0.1–0.5 Hz holds no bin at 64 points");

        let impulse = Impulse::from_config(&spectral_project(100.0, 3600, "")).unwrap();
        let DspConfig::Spectral(spectral) = &impulse.dsp else { panic!("{:?}", impulse.dsp) };
        assert_eq!(spectral.fft_length, 512);
        assert_eq!(spectral.bands, mote_dsp::Bands::from_edges(&[0.1, 0.5, 1.0, 2.0, 5.0]).unwrap());

        // A band set by hand that holds no bin is still an error, said once.
        let error = Impulse::from_config(&spectral_project(
            100.0,
            3600,
            "fft_length = 128\nbands = { edges = [0.1, 0.5, 1.0] }",
        ))
        .unwrap_err();
        assert_eq!(error.code(), "impulse.dsp");
        assert_eq!(error.to_string().matches("contains no FFT bin").count(), 1, "{error}");
    }
}
