//! Training Mote's learning blocks on feature matrices: a dense classifier and a 1-D CNN (burn, on
//! the Flex or NdArray CPU backend), k-means anomaly detection (pure Rust), and evaluation metrics.
//!
//! Input is plain data ([`TrainingSet`]: a row-major `f32` matrix, labels, label names, and for
//! conv blocks the `(time, channels)` shape of a row). This crate knows nothing of files, projects
//! or DSP; it saves a trained block into a folder it is given.
//!
//! ```no_run
//! # use std::{ops::ControlFlow, sync::{Arc, atomic::AtomicBool}};
//! # use mote_train::*;
//! # fn main() -> Result<(), TrainError> {
//! let features = vec![0.0f32; 40 * 42];
//! let labels = vec![0usize; 40];
//! let set = TrainingSet::new(&features, 42, &labels, vec!["idle".into(), "walk".into()])?;
//! let config: LearnConfig = LearnConfig::default();
//! let cancel = Arc::new(AtomicBool::new(false));
//! let model = train_classifier(&set, &config, &cancel, |metrics| {
//!     println!("epoch {} loss {}", metrics.epoch, metrics.train_loss);
//!     ControlFlow::Continue(())
//! })?;
//! let probabilities = model.predict(&features);
//! let evaluation = evaluate(&probabilities, &labels, 2, 0.6);
//! # Ok(()) }
//! ```

mod block;
pub mod config;
mod dataset;
mod error;
pub mod evaluate;
pub mod export;
mod kmeans;
mod metrics;
mod model;
mod network;
mod normalise;
pub mod persist;
mod prune;
mod split;
mod training;

pub use block::{LearnedBlock, train};
pub use config::{Augment, Backend, BlockConfig, Distill, LearnConfig, Prune, block_schema};
pub use dataset::{Augmented, SampleShape, TrainingSet};
pub use error::{ConfigError, TrainError};
pub use evaluate::{ClassMetrics, Evaluation, evaluate};
pub use export::{Activation, ExportedLayer, ExportedModel, LayerKind};
pub use kmeans::{AnomalyModel, train_anomaly};
pub use metrics::{EpochMetrics, PruneStep, Stage, TrainingHistory};
pub use model::TrainedModel;
pub use network::Architecture;
pub use normalise::Normalisation;
pub use training::{train_classifier, train_classifier_with_teacher};
