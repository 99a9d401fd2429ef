//! A trained classifier: predicts class probabilities, saves and loads itself.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;

use crate::config::LearnConfig;
use crate::error::TrainError;
use crate::metrics::TrainingHistory;
use crate::network::{Architecture, Network};
use crate::normalise::Normalisation;
use crate::persist::{self, ClassifierSidecar, Sidecar, WEIGHTS_FILE};
use crate::training::infer_logits;

/// A trained dense or conv1d classifier, on its backend's plain (non-autodiff) device.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    network: Network,
    device: Device,
    config: LearnConfig,
    normalisation: Normalisation,
    label_names: Vec<String>,
    history: TrainingHistory,
}

impl TrainedModel {
    pub(crate) fn from_parts(
        network: Network,
        device: Device,
        config: LearnConfig,
        normalisation: Normalisation,
        label_names: Vec<String>,
        history: TrainingHistory,
    ) -> Self {
        Self { network, device, config, normalisation, label_names, history }
    }

    /// Class probabilities (softmax) for each row of `features` (row-major, raw — normalisation is
    /// applied here), one `Vec` of `n_classes` per row.
    ///
    /// # Panics
    /// If `features.len()` is not a multiple of [`Self::n_features`].
    pub fn predict(&self, features: &[f32]) -> Vec<Vec<f32>> {
        let n_features = self.n_features();
        assert!(
            features.len().is_multiple_of(n_features),
            "predict: {} values is not a whole number of rows of {n_features} features",
            features.len()
        );
        let logits = infer_logits(&self.network, &self.normalisation.apply(features), &self.device);
        logits.chunks_exact(self.label_names.len()).map(softmax).collect()
    }

    /// The network's raw outputs (before softmax) for each row of raw `features`, row-major
    /// (`rows × n_classes`).
    ///
    /// # Panics
    /// If `features.len()` is not a multiple of [`Self::n_features`].
    pub fn logits(&self, features: &[f32]) -> Vec<f32> {
        assert!(features.len().is_multiple_of(self.n_features()), "logits: not a whole number of rows");
        infer_logits(&self.network, &self.normalisation.apply(features), &self.device)
    }

    /// Input values per row.
    pub fn n_features(&self) -> usize {
        self.network.architecture().n_features
    }

    /// Class names, in output order.
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }

    /// The configuration it was trained with.
    pub fn config(&self) -> &LearnConfig {
        &self.config
    }

    /// The network's shape.
    pub fn architecture(&self) -> &Architecture {
        self.network.architecture()
    }

    /// The per-feature normalisation applied before the network.
    pub fn normalisation(&self) -> &Normalisation {
        &self.normalisation
    }

    /// Per-epoch metrics and what was kept.
    pub fn history(&self) -> &TrainingHistory {
        &self.history
    }

    pub(crate) fn network(&self) -> &Network {
        &self.network
    }

    /// Writes `dir/weights.bpk` (burn record) and `dir/model.json` (sidecar), creating `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io { path: dir.to_path_buf(), source })?;
        let weights_path = dir.join(WEIGHTS_FILE);
        self.network
            .clone()
            .into_record()
            .save(&weights_path)
            .map_err(|error| TrainError::Record { path: weights_path, message: error.to_string() })?;
        persist::write_sidecar(dir, &Sidecar::Classifier(self.sidecar()))
    }

    /// Loads a model saved by [`Self::save`]; it predicts exactly what the saved one did.
    pub fn load(dir: &Path) -> Result<Self, TrainError> {
        match persist::read_sidecar(dir)? {
            Sidecar::Classifier(sidecar) => Self::from_sidecar(dir, sidecar),
            Sidecar::Anomaly(_) => Err(TrainError::ModelFormat {
                path: persist::sidecar_path(dir),
                message: "this is a k-means anomaly model, not a classifier".into(),
            }),
        }
    }

    pub(crate) fn from_sidecar(dir: &Path, sidecar: ClassifierSidecar) -> Result<Self, TrainError> {
        let arch = sidecar.architecture;
        let consistent = arch.n_classes == sidecar.label_names.len()
            && arch.n_features == sidecar.normalisation.n_features()
            && arch.conv_shapes().is_ok();
        if !consistent {
            return Err(TrainError::ModelFormat {
                path: persist::sidecar_path(dir),
                message: "architecture, label names and normalisation disagree".into(),
            });
        }
        let device = sidecar.config.backend.device();
        let weights_path = dir.join(WEIGHTS_FILE);
        let record_error = |error: burn::store::RecordError| TrainError::Record {
            path: weights_path.clone(),
            message: error.to_string(),
        };
        let record = ModuleRecord::load(&weights_path).map_err(record_error)?;
        let network = Network::new(&arch, &device, None).try_load_record(record).map_err(record_error)?;
        Ok(Self {
            network,
            device,
            config: sidecar.config,
            normalisation: sidecar.normalisation,
            label_names: sidecar.label_names,
            history: sidecar.history,
        })
    }

    fn sidecar(&self) -> ClassifierSidecar {
        ClassifierSidecar {
            format_version: persist::FORMAT_VERSION,
            config: self.config.clone(),
            architecture: self.architecture().clone(),
            normalisation: self.normalisation.clone(),
            label_names: self.label_names.clone(),
            history: self.history.clone(),
        }
    }
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}
