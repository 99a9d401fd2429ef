//! microflow running the depthwise-separable CNN (depthwise k3 + pointwise 8 ReLU, avg-pool 2,
//! depthwise k3 + pointwise 16 ReLU, avg-pool 2, dense 4 softmax) on the emulated Cortex-M4F.
//! Input (1, 100, 6): time along the width.
#![no_std]
#![no_main]

use microflow::buffer::{Buffer2D, Buffer4D};
use microflow::model;

mod input {
    include!("../../models/dscnn_input.rs");
}

// The macro reads the file itself; this makes cargo rebuild when it changes.
const _: &[u8] = include_bytes!("../../models/dscnn.tflite");

#[model("models/dscnn.tflite")]
struct Dscnn;

/// `predict` in a function of its own, so the ELF's symbols show microflow's code apart from the
/// harness (everything `predict` inlines lands here).
#[inline(never)]
fn microflow_predict(input: Buffer4D<f32, 1, 1, 100, 6>) -> Buffer2D<f32, 1, 4> {
    Dscnn::predict(input)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    microflow_m4f::start();
    microflow_m4f::run(
        "dscnn",
        98 * 6 * 3 + 98 * 6 * 8 + 47 * 8 * 3 + 47 * 8 * 16 + 23 * 16 * 4,
        || -> Buffer4D<f32, 1, 1, 100, 6> {
            [Buffer2D::from_fn(|_, t| core::array::from_fn(|c| input::INPUT[t * 6 + c]))]
        },
        microflow_predict,
        |output| core::array::from_fn::<f32, 4, _>(|j| output[(0, j)]),
    )
}
