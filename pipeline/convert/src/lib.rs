//! From a trained float model to what a board runs: int8 post-training quantization into a
//! `mote-runtime` blob, evaluation of the int8 model with that same runtime on the host,
//! exports (blob, C header, Rust crate) and RAM / flash / latency estimates per target.
//!
//! All float → int8 work happens here, on the host; boards only execute.

pub mod estimate;
pub mod evaluate;
pub mod export;
pub mod host;
pub mod quantize;

pub use evaluate::{ClassComparison, Comparison, compare, int8_probabilities};
pub use host::{HostBoard, HostRunError, WindowResult};
pub use quantize::{
    Calibration, ImpulseMeta, QuantizeConfig, QuantizeError, QuantizedModel, TensorQuant, anomaly_blob,
    quantize,
};
