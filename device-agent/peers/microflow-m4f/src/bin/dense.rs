//! microflow running the dense network (42 → 30 ReLU → 16 ReLU → 4 softmax) on the emulated Cortex-M4F.
#![no_std]
#![no_main]

use microflow::buffer::Buffer2D;
use microflow::model;

mod input {
    include!("../../models/dense_input.rs");
}

// The macro reads the file itself; this makes cargo rebuild when it changes.
const _: &[u8] = include_bytes!("../../models/dense.tflite");

#[model("models/dense.tflite")]
struct Dense;

/// `predict` in a function of its own, so the ELF's symbols show microflow's code apart from the
/// harness (everything `predict` inlines lands here).
#[inline(never)]
fn microflow_predict(input: Buffer2D<f32, 1, 42>) -> Buffer2D<f32, 1, 4> {
    Dense::predict(input)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    microflow_m4f::start();
    microflow_m4f::run(
        "dense",
        42 * 30 + 30 * 16 + 16 * 4,
        || Buffer2D::<f32, 1, 42>::from_fn(|_, j| input::INPUT[j]),
        microflow_predict,
        |output| core::array::from_fn::<f32, 4, _>(|j| output[(0, j)]),
    )
}
