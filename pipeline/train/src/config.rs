//! The learning block's configuration: which block, its layers, and the training parameters.
//!
//! In `mote.toml` it is the `[learn]` table: `block` picks the block and every other key sits
//! beside it, flat:
//!
//! ```toml
//! [learn]
//! block = "dense"        # or "conv1d", "kmeans"
//! hidden = [20, 10]
//! dropout = 0.1
//! epochs = 100
//! learning_rate = 0.005
//! ```
//!
//! Unknown keys are errors that name the key, and so are values out of range (`dropout = 1.5`).
//! Every key except `block` may be left out; the defaults suit small TinyML models.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// A learning block with its training parameters. Deserializes from (and serializes to) the flat
/// `[learn]` table described in the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FlatLearnConfig", into = "FlatLearnConfig")]
pub struct LearnConfig {
    /// Which block to train, with its layer parameters.
    pub block: BlockConfig,
    /// Passes over the training rows (classifiers only). Default 100.
    pub epochs: usize,
    /// Adam's step size (classifiers only). Default 0.005.
    pub learning_rate: f32,
    /// Rows per gradient step (classifiers only). Default 32.
    pub batch_size: usize,
    /// Fraction of each class held out for validation, in `[0, 1)`. Default 0.2. With 0 there is
    /// no validation set and early stopping watches the training loss.
    pub validation_split: f32,
    /// Stop when the validation loss has not improved for this many epochs, and keep the weights
    /// of the best epoch. `None` (default) trains all epochs and keeps the last weights.
    pub early_stopping_patience: Option<usize>,
    /// The burn backend to train and run on. Default Flex.
    pub backend: Backend,
    /// Seeds the validation split, weight initialisation, shuffling, dropout and k-means++: the
    /// same seed on the same machine gives bit-identical weights. Default 42.
    pub seed: u64,
    /// Data augmentation of the training windows (`[learn.augment]`); `None` (default) is off.
    pub augment: Option<Augment>,
    /// Knowledge distillation from a teacher (`[learn.distill]`); `None` (default) is off.
    pub distill: Option<Distill>,
    /// Structured pruning after training (`[learn.prune]`); `None` (default) is off.
    pub prune: Option<Prune>,
}

/// Augmented copies of every training window (never of validation or test windows), drawn from
/// the learn seed. Raw-signal changes (everything but the masks) are made to the window before
/// its DSP block by the pipeline; the masks are drawn afresh every epoch on the block's output.
///
/// ```toml
/// [learn.augment]
/// copies = 2          # augmented copies per training window
/// noise = 0.1         # noise at up to this RMS, relative to the window's RMS per axis
/// shift_ms = 100      # move the window by up to ± this along its recording
/// time_mask = 4       # SpecAugment: mask up to 4 consecutive frames (time steps)
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// Augmented copies of each training window, 1–16. Default 2.
    #[schemars(range(min = 1, max = 16))]
    pub copies: usize,
    /// Additive noise: its RMS is up to this fraction of each axis' RMS in the window (drawn per
    /// copy in `[0, noise]`), 0–2. Gaussian, or taken from `noise_label`'s recordings. Default 0.
    #[schemars(range(min = 0, max = 2))]
    pub noise: f32,
    /// Take the noise from training samples with this label (e.g. `"noise"`) instead of
    /// generating it. Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise_label: Option<String>,
    /// Multiply each axis by its own factor in `1 ± scale`, in `[0, 1)`. Default 0.
    #[schemars(range(min = 0, max = 0.99))]
    pub scale: f32,
    /// Move the window by up to this many milliseconds either way along its recording. Default 0.
    #[schemars(range(min = 0, max = 60000))]
    pub shift_ms: f32,
    /// Resample the window's time by a factor in `1 ± stretch`, in `[0, 0.5]`. Default 0.
    #[schemars(range(min = 0, max = 0.5))]
    pub stretch: f32,
    /// Rotate each group of 3 axes (x, y, z) by up to this many degrees about a random axis, the
    /// same rotation for every group of a window, 0–180. Default 0.
    #[schemars(range(min = 0, max = 180))]
    pub rotate_deg: f32,
    /// SpecAugment: mask (set to the training mean) up to this many consecutive time steps of the
    /// DSP block's output, `masks` times per copy and epoch. Needs a time-series output (raw,
    /// MFE, MFCC). Default 0 (off).
    pub time_mask: usize,
    /// SpecAugment: mask up to this many consecutive channels (coefficients or axes). Default 0.
    pub freq_mask: usize,
    /// Masks of each kind per copy. Default 1.
    pub masks: usize,
}

impl Default for Augment {
    fn default() -> Self {
        Augment {
            copies: 2,
            noise: 0.0,
            noise_label: None,
            scale: 0.0,
            shift_ms: 0.0,
            stretch: 0.0,
            rotate_deg: 0.0,
            time_mask: 0,
            freq_mask: 0,
            masks: 1,
        }
    }
}

impl Augment {
    /// Whether any change is made to the raw window (before the DSP block).
    pub fn changes_signal(&self) -> bool {
        self.noise > 0.0
            || self.scale > 0.0
            || self.shift_ms > 0.0
            || self.stretch > 0.0
            || self.rotate_deg > 0.0
    }

    /// Whether masks are drawn on the DSP block's output.
    pub fn masks_features(&self) -> bool {
        self.masks > 0 && (self.time_mask > 0 || self.freq_mask > 0)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::InvalidValue { field, reason: reason.into() };
        if !(1..=16).contains(&self.copies) {
            return Err(invalid("augment.copies", "must be 1 to 16"));
        }
        let ranges: [(&'static str, f32, f32); 5] = [
            ("augment.noise", self.noise, 2.0),
            ("augment.scale", self.scale, 0.99),
            ("augment.shift_ms", self.shift_ms, 60_000.0),
            ("augment.stretch", self.stretch, 0.5),
            ("augment.rotate_deg", self.rotate_deg, 180.0),
        ];
        for (field, value, max) in ranges {
            if !(value.is_finite() && (0.0..=max).contains(&value)) {
                return Err(invalid(field, &format!("must be between 0 and {max}")));
            }
        }
        if self.noise_label.as_ref().is_some_and(|label| label.trim().is_empty()) {
            return Err(invalid("augment.noise_label", "must name a label"));
        }
        if self.noise_label.is_some() && self.noise == 0.0 {
            return Err(invalid("augment.noise", "must be above 0 to mix in noise_label"));
        }
        if !self.changes_signal() && !self.masks_features() {
            return Err(invalid(
                "augment",
                "turns nothing on: set noise, scale, shift_ms, stretch, rotate_deg, time_mask or freq_mask",
            ));
        }
        Ok(())
    }
}

/// Knowledge distillation: a teacher is trained first (or a stored model is used), then this
/// block learns from a mix of the labels and the teacher's softened scores.
///
/// ```toml
/// [learn.distill]
/// temperature = 4
/// weight = 0.7
/// teacher = { block = "conv1d", filters = [32, 64], dense = [64] }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Distill {
    /// The teacher's learning block (its own flat table). Ignored when `model` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub teacher: Option<Box<LearnConfig>>,
    /// A classifier stored in the project (its model id) to use as the teacher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<i64>,
    /// Softmax temperature for both teacher and student scores, 1–20. Default 4.
    #[schemars(range(min = 1, max = 20))]
    pub temperature: f32,
    /// Weight of the teacher's scores in the loss, in `[0, 1]` (the labels get the rest). Default 0.7.
    #[schemars(range(min = 0, max = 1))]
    pub weight: f32,
}

impl Default for Distill {
    fn default() -> Self {
        Distill { teacher: None, model: None, temperature: 4.0, weight: 0.7 }
    }
}

impl Distill {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::InvalidValue { field, reason: reason.into() };
        if !(self.temperature.is_finite() && (1.0..=20.0).contains(&self.temperature)) {
            return Err(invalid("distill.temperature", "must be between 1 and 20"));
        }
        if !(self.weight.is_finite() && (0.0..=1.0).contains(&self.weight)) {
            return Err(invalid("distill.weight", "must be between 0 and 1"));
        }
        match (&self.teacher, self.model) {
            (None, None) => Err(invalid("distill", "needs a teacher (a block table) or a model id")),
            (Some(teacher), None) => {
                if !teacher.block.is_classifier() {
                    return Err(invalid("distill.teacher", "must be a classifier (dense or conv1d)"));
                }
                if teacher.distill.is_some() || teacher.prune.is_some() {
                    return Err(invalid("distill.teacher", "cannot itself be distilled or pruned"));
                }
                Ok(())
            }
            (_, Some(_)) => Ok(()),
        }
    }
}

/// Structured pruning: after training, whole neurons (dense) and filters (conv) with the smallest
/// weights are removed step by step, with fine-tuning after each step, until the network has at
/// most `1 - target` of its multiply-accumulates. The output layer is never pruned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Prune {
    /// Fraction of the network's MACs to remove, in `(0, 0.95]`. Default 0.5.
    #[schemars(range(max = 0.95), extend("exclusiveMinimum" = 0))]
    pub target: f32,
    /// Pruning steps to get there. Default 4.
    #[schemars(range(min = 1, max = 20))]
    pub steps: usize,
    /// Epochs of fine-tuning after each step. Default 15.
    #[schemars(range(min = 1))]
    pub fine_tune_epochs: usize,
}

impl Default for Prune {
    fn default() -> Self {
        Prune { target: 0.5, steps: 4, fine_tune_epochs: 15 }
    }
}

impl Prune {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::InvalidValue { field, reason: reason.into() };
        if !(self.target.is_finite() && self.target > 0.0 && self.target <= 0.95) {
            return Err(invalid("prune.target", "must be above 0 and at most 0.95"));
        }
        if !(1..=20).contains(&self.steps) {
            return Err(invalid("prune.steps", "must be 1 to 20"));
        }
        if self.fine_tune_epochs == 0 {
            return Err(invalid("prune.fine_tune_epochs", "must be at least 1"));
        }
        Ok(())
    }
}

/// The learning block and its layer parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockConfig {
    /// A dense classifier: `Linear → ReLU → Dropout` per hidden layer, then `Linear` → softmax.
    Dense {
        /// Neurons of each hidden layer. Default `[20, 10]`.
        hidden: Vec<usize>,
        /// Dropout probability after each hidden layer, in `[0, 1)`. Default 0.1.
        dropout: f32,
    },
    /// A 1-D CNN: `Conv1d → ReLU → MaxPool` per filter count over the row's `(time, channels)`
    /// shape, then flatten, the dense layers as in [`BlockConfig::Dense`], and the output layer.
    Conv1d {
        /// Filters of each conv block. Default `[8, 16]`.
        filters: Vec<usize>,
        /// Kernel length of every convolution (stride 1, no padding). Default 3.
        kernel_size: usize,
        /// Max-pool size and stride after each convolution; 1 disables pooling. Default 2.
        pool: usize,
        /// Hidden dense layers after the flatten. Default none.
        dense: Vec<usize>,
        /// Dropout probability after the flatten and after each hidden dense layer. Default 0.1.
        dropout: f32,
        /// Depthwise-separable convolutions: each conv block is a depthwise convolution (one
        /// `kernel_size` filter per input channel) and a pointwise (1-wide) one to `filters`
        /// channels — about `kernel_size` times fewer multiply-accumulates. Default false.
        separable: bool,
    },
    /// K-means anomaly detection on the normalised features (no labels needed).
    KMeans {
        /// Number of clusters. Default 8.
        clusters: usize,
    },
}

/// The burn backend to compute with. Both run on the CPU in pure Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn's Flex backend: the faster one, by far for convolutions in a debug build.
    #[default]
    Flex,
    /// burn's NdArray backend (deprecated by burn in favour of Flex).
    NdArray,
}

impl Backend {
    /// A plain (inference) device of this backend.
    pub(crate) fn device(self) -> burn::tensor::Device {
        match self {
            Backend::Flex => burn::tensor::Device::flex(),
            #[allow(deprecated)] // burn marks ndarray deprecated; we keep it selectable.
            Backend::NdArray => burn::tensor::Device::ndarray(),
        }
    }
}

impl Default for LearnConfig {
    fn default() -> Self {
        Self::with_block(BlockConfig::default_dense())
    }
}

impl BlockConfig {
    /// `Dense` with its defaults.
    pub fn default_dense() -> Self {
        BlockConfig::Dense { hidden: vec![20, 10], dropout: 0.1 }
    }

    /// `Conv1d` with its defaults.
    pub fn default_conv1d() -> Self {
        BlockConfig::Conv1d {
            filters: vec![8, 16],
            kernel_size: 3,
            pool: 2,
            dense: vec![],
            dropout: 0.1,
            separable: false,
        }
    }

    /// `KMeans` with its defaults.
    pub fn default_kmeans() -> Self {
        BlockConfig::KMeans { clusters: 8 }
    }

    /// Whether this block is a classifier (trained with burn) rather than anomaly detection.
    pub fn is_classifier(&self) -> bool {
        !matches!(self, BlockConfig::KMeans { .. })
    }
}

impl LearnConfig {
    /// The given block with the default training parameters.
    pub fn with_block(block: BlockConfig) -> Self {
        let common = CommonParams::default();
        common.into_config(block)
    }

    /// Checks every value's range; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(field: &'static str, reason: &str) -> ConfigError {
            ConfigError::InvalidValue { field, reason: reason.to_string() }
        }
        fn probability(field: &'static str, value: f32) -> Result<(), ConfigError> {
            if (0.0..1.0).contains(&value) { Ok(()) } else { Err(invalid(field, "must be in [0, 1)")) }
        }
        fn positive_list(field: &'static str, values: &[usize]) -> Result<(), ConfigError> {
            if values.contains(&0) {
                Err(invalid(field, "every layer needs at least 1 unit"))
            } else {
                Ok(())
            }
        }
        match &self.block {
            BlockConfig::Dense { hidden, dropout } => {
                positive_list("hidden", hidden)?;
                probability("dropout", *dropout)?;
            }
            BlockConfig::Conv1d { filters, kernel_size, pool, dense, dropout, .. } => {
                if filters.is_empty() {
                    return Err(invalid("filters", "needs at least one conv block"));
                }
                positive_list("filters", filters)?;
                positive_list("dense", dense)?;
                if *kernel_size == 0 {
                    return Err(invalid("kernel_size", "must be at least 1"));
                }
                if *pool == 0 {
                    return Err(invalid("pool", "must be at least 1 (1 = no pooling)"));
                }
                probability("dropout", *dropout)?;
            }
            BlockConfig::KMeans { clusters } => {
                if *clusters == 0 {
                    return Err(invalid("clusters", "must be at least 1"));
                }
            }
        }
        if self.epochs == 0 {
            return Err(invalid("epochs", "must be at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid("learning_rate", "must be a positive number"));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch_size", "must be at least 1"));
        }
        probability("validation_split", self.validation_split)?;
        if self.early_stopping_patience == Some(0) {
            return Err(invalid("early_stopping_patience", "must be at least 1 (leave it out to disable)"));
        }
        if let Some(augment) = &self.augment {
            augment.validate()?;
        }
        if let Some(distill) = &self.distill {
            if !self.block.is_classifier() {
                return Err(invalid("distill", "only classifiers can be distilled"));
            }
            distill.validate()?;
            if let Some(teacher) = &distill.teacher {
                teacher.validate()?;
            }
        }
        if let Some(prune) = &self.prune {
            if !self.block.is_classifier() {
                return Err(invalid("prune", "only classifiers can be pruned"));
            }
            prune.validate()?;
        }
        Ok(())
    }
}

// ---- the flat serde form -------------------------------------------------------------------------
//
// serde's `deny_unknown_fields` does not work together with `flatten`, so each block gets its own
// flat struct carrying the block's fields *and* the common ones; an internally tagged enum picks
// the struct by `block`. Unknown keys then fail with "unknown field `x`, expected one of …".

/// The training parameters shared by every block, with their defaults.
struct CommonParams {
    epochs: usize,
    learning_rate: f32,
    batch_size: usize,
    validation_split: f32,
    early_stopping_patience: Option<usize>,
    backend: Backend,
    seed: u64,
    augment: Option<Augment>,
    distill: Option<Distill>,
    prune: Option<Prune>,
}

impl Default for CommonParams {
    fn default() -> Self {
        Self {
            epochs: 100,
            learning_rate: 0.005,
            batch_size: 32,
            validation_split: 0.2,
            early_stopping_patience: None,
            backend: Backend::Flex,
            seed: 42,
            augment: None,
            distill: None,
            prune: None,
        }
    }
}

impl CommonParams {
    fn into_config(self, block: BlockConfig) -> LearnConfig {
        LearnConfig {
            block,
            epochs: self.epochs,
            learning_rate: self.learning_rate,
            batch_size: self.batch_size,
            validation_split: self.validation_split,
            early_stopping_patience: self.early_stopping_patience,
            backend: self.backend,
            seed: self.seed,
            augment: self.augment,
            distill: self.distill,
            prune: self.prune,
        }
    }

    fn from_config(config: &LearnConfig) -> Self {
        Self {
            epochs: config.epochs,
            learning_rate: config.learning_rate,
            batch_size: config.batch_size,
            validation_split: config.validation_split,
            early_stopping_patience: config.early_stopping_patience,
            backend: config.backend,
            seed: config.seed,
            augment: config.augment.clone(),
            distill: config.distill.clone(),
            prune: config.prune.clone(),
        }
    }
}

/// Declares a flat struct for one block: its own fields (with defaults) plus the common ones. The
/// doc comments and ranges become the block's JSON schema ([`block_schema`]), which is what the
/// app's parameter form is built from; `LearnConfig::validate` enforces the same ranges (a test
/// holds them together).
macro_rules! flat_block {
    ($name:ident { $($(#[$meta:meta])* $field:ident : $ty:ty = $default:expr),* $(,)? }) => {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(default, deny_unknown_fields)]
        struct $name {
            $($(#[$meta])* $field: $ty,)*
            /// Passes over the training rows.
            #[schemars(range(min = 1))]
            epochs: usize,
            /// Adam's step size.
            #[schemars(extend("exclusiveMinimum" = 0))]
            learning_rate: f32,
            /// Rows per gradient step.
            #[schemars(range(min = 1))]
            batch_size: usize,
            /// Fraction of each class held out for validation (0 = none; early stopping then
            /// watches the training loss).
            #[schemars(range(min = 0), extend("exclusiveMaximum" = 1))]
            validation_split: f32,
            /// Stop when the validation loss has not improved for this many epochs and keep the
            /// best epoch's weights; unset trains every epoch.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[schemars(range(min = 1))]
            early_stopping_patience: Option<usize>,
            /// The burn backend to train on (both run on the CPU).
            backend: Backend,
            /// Seeds the split, initial weights, shuffling and dropout: the same seed gives the
            /// same weights.
            seed: u64,
            /// Augmented copies of the training windows.
            #[serde(skip_serializing_if = "Option::is_none")]
            augment: Option<Augment>,
            /// Learn from a teacher's softened scores as well as the labels.
            #[serde(skip_serializing_if = "Option::is_none")]
            distill: Option<Distill>,
            /// Remove whole neurons and filters after training, with fine-tuning.
            #[serde(skip_serializing_if = "Option::is_none")]
            prune: Option<Prune>,
        }

        impl Default for $name {
            fn default() -> Self {
                let common = CommonParams::default();
                Self {
                    $($field: $default,)*
                    epochs: common.epochs,
                    learning_rate: common.learning_rate,
                    batch_size: common.batch_size,
                    validation_split: common.validation_split,
                    early_stopping_patience: common.early_stopping_patience,
                    backend: common.backend,
                    seed: common.seed,
                    augment: common.augment,
                    distill: common.distill,
                    prune: common.prune,
                }
            }
        }

        impl $name {
            fn common(&self) -> CommonParams {
                CommonParams {
                    epochs: self.epochs,
                    learning_rate: self.learning_rate,
                    batch_size: self.batch_size,
                    validation_split: self.validation_split,
                    early_stopping_patience: self.early_stopping_patience,
                    backend: self.backend,
                    seed: self.seed,
                    augment: self.augment.clone(),
                    distill: self.distill.clone(),
                    prune: self.prune.clone(),
                }
            }

            fn with_common(self, common: CommonParams) -> Self {
                Self {
                    epochs: common.epochs,
                    learning_rate: common.learning_rate,
                    batch_size: common.batch_size,
                    validation_split: common.validation_split,
                    early_stopping_patience: common.early_stopping_patience,
                    backend: common.backend,
                    seed: common.seed,
                    augment: common.augment,
                    distill: common.distill,
                    prune: common.prune,
                    ..self
                }
            }
        }
    };
}

flat_block!(FlatDense {
    /// Neurons of each hidden layer.
    #[schemars(inner(range(min = 1)))]
    hidden: Vec<usize> = vec![20, 10],
    /// Dropout probability after each hidden layer.
    #[schemars(range(min = 0), extend("exclusiveMaximum" = 1))]
    dropout: f32 = 0.1,
});
flat_block!(FlatConv1d {
    /// Filters of each convolution block (Conv1d → ReLU → MaxPool).
    #[schemars(length(min = 1), inner(range(min = 1)))]
    filters: Vec<usize> = vec![8, 16],
    /// Kernel length of every convolution.
    #[schemars(range(min = 1))]
    kernel_size: usize = 3,
    /// Max-pool size after each convolution; 1 = no pooling.
    #[schemars(range(min = 1))]
    pool: usize = 2,
    /// Hidden dense layers after the flatten.
    #[schemars(inner(range(min = 1)))]
    dense: Vec<usize> = vec![],
    /// Dropout probability after the flatten and each hidden dense layer.
    #[schemars(range(min = 0), extend("exclusiveMaximum" = 1))]
    dropout: f32 = 0.1,
    /// Depthwise-separable convolutions (a depthwise and a pointwise convolution per block):
    /// about kernel_size times fewer multiply-accumulates.
    separable: bool = false,
});
flat_block!(FlatKMeans {
    /// Number of clusters.
    #[schemars(range(min = 1))]
    clusters: usize = 8,
});

/// The JSON schema of a learning block's flat `[learn]` table (without `block`), or `None` for an
/// unknown block name.
pub fn block_schema(block: &str) -> Option<schemars::Schema> {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    Some(match block {
        "dense" => generator.into_root_schema_for::<FlatDense>(),
        "conv1d" => generator.into_root_schema_for::<FlatConv1d>(),
        "kmeans" => generator.into_root_schema_for::<FlatKMeans>(),
        _ => return None,
    })
}

/// The learning blocks' names, as `block` spells them.
pub const BLOCKS: [&str; 3] = ["dense", "conv1d", "kmeans"];

#[derive(Serialize, Deserialize)]
#[serde(tag = "block")]
enum FlatLearnConfig {
    #[serde(rename = "dense")]
    Dense(FlatDense),
    #[serde(rename = "conv1d")]
    Conv1d(FlatConv1d),
    #[serde(rename = "kmeans")]
    KMeans(FlatKMeans),
}

impl TryFrom<FlatLearnConfig> for LearnConfig {
    type Error = ConfigError;

    fn try_from(flat: FlatLearnConfig) -> Result<Self, ConfigError> {
        let config = match flat {
            FlatLearnConfig::Dense(flat) => {
                let common = flat.common();
                common.into_config(BlockConfig::Dense { hidden: flat.hidden, dropout: flat.dropout })
            }
            FlatLearnConfig::Conv1d(flat) => {
                let common = flat.common();
                common.into_config(BlockConfig::Conv1d {
                    filters: flat.filters,
                    kernel_size: flat.kernel_size,
                    pool: flat.pool,
                    dense: flat.dense,
                    dropout: flat.dropout,
                    separable: flat.separable,
                })
            }
            FlatLearnConfig::KMeans(flat) => {
                let common = flat.common();
                common.into_config(BlockConfig::KMeans { clusters: flat.clusters })
            }
        };
        config.validate()?;
        Ok(config)
    }
}

impl From<LearnConfig> for FlatLearnConfig {
    fn from(config: LearnConfig) -> Self {
        let common = CommonParams::from_config(&config);
        match config.block {
            BlockConfig::Dense { hidden, dropout } => FlatLearnConfig::Dense(
                FlatDense { hidden, dropout, ..FlatDense::default() }.with_common(common),
            ),
            BlockConfig::Conv1d { filters, kernel_size, pool, dense, dropout, separable } => {
                FlatLearnConfig::Conv1d(
                    FlatConv1d {
                        filters,
                        kernel_size,
                        pool,
                        dense,
                        dropout,
                        separable,
                        ..FlatConv1d::default()
                    }
                    .with_common(common),
                )
            }
            BlockConfig::KMeans { clusters } => {
                FlatLearnConfig::KMeans(FlatKMeans { clusters, ..FlatKMeans::default() }.with_common(common))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct MoteToml {
        learn: LearnConfig,
    }

    fn parse(learn_table: &str) -> Result<LearnConfig, String> {
        toml::from_str::<MoteToml>(&format!("[learn]\n{learn_table}"))
            .map(|t| t.learn)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_fill_everything_but_the_block() {
        assert_eq!(parse("block = \"dense\"").unwrap(), LearnConfig::default());
        assert_eq!(
            parse("block = \"conv1d\"").unwrap(),
            LearnConfig::with_block(BlockConfig::default_conv1d())
        );
        assert_eq!(
            parse("block = \"kmeans\"").unwrap(),
            LearnConfig::with_block(BlockConfig::default_kmeans())
        );
    }

    #[test]
    fn flat_keys_reach_block_and_training_parameters() {
        let config = parse(
            "block = \"conv1d\"\nfilters = [4]\nkernel_size = 5\npool = 1\ndense = [12]\ndropout = 0.25\nseparable = true\n\
             epochs = 7\nlearning_rate = 0.01\nbatch_size = 8\nvalidation_split = 0.1\n\
             early_stopping_patience = 3\nbackend = \"ndarray\"\nseed = 9",
        )
        .unwrap();
        assert_eq!(
            config.block,
            BlockConfig::Conv1d {
                filters: vec![4],
                kernel_size: 5,
                pool: 1,
                dense: vec![12],
                dropout: 0.25,
                separable: true,
            }
        );
        assert_eq!(
            (config.epochs, config.learning_rate, config.batch_size, config.validation_split),
            (7, 0.01, 8, 0.1)
        );
        assert_eq!(config.early_stopping_patience, Some(3));
        assert_eq!((config.backend, config.seed), (Backend::NdArray, 9));
    }

    #[test]
    fn unknown_or_invalid_keys_are_errors_naming_the_key() {
        let cases = [
            ("block = \"dense\"\nhiden = [4]", "hiden"),
            ("block = \"dense\"\nfilters = [4]", "filters"),
            ("block = \"kmeans\"\nclusterz = 3", "clusterz"),
            ("block = \"dense\"\ndropout = 1.5", "dropout"),
            ("block = \"dense\"\nhidden = [4, 0]", "hidden"),
            ("block = \"conv1d\"\npool = 0", "pool"),
            ("block = \"dense\"\nbatch_size = 0", "batch_size"),
            ("block = \"dense\"\nvalidation_split = 1.0", "validation_split"),
            ("block = \"dense\"\nbackend = \"cuda\"", "cuda"),
            ("block = \"cnn\"", "cnn"),
            ("hidden = [4]", "block"),
        ];
        for (table, name) in cases {
            let error = parse(table).expect_err(table);
            assert!(error.contains(name), "{table:?}: error {error:?} should name {name:?}");
        }
    }

    #[test]
    fn serializes_back_to_the_same_flat_table() {
        for block in
            [BlockConfig::default_dense(), BlockConfig::default_conv1d(), BlockConfig::default_kmeans()]
        {
            let mut config = LearnConfig::with_block(block);
            config.early_stopping_patience = Some(5);
            let text = toml::to_string(&config).unwrap();
            assert!(text.starts_with("block = "), "{text}");
            assert_eq!(toml::from_str::<LearnConfig>(&text).unwrap(), config, "{text}");
            let json = serde_json::to_string(&config).unwrap();
            assert_eq!(serde_json::from_str::<LearnConfig>(&json).unwrap(), config);
        }
    }
}
