//! The harness alone (no model, no microflow): the flash and stack every network's binary shares.
#![no_std]
#![no_main]

#[cortex_m_rt::entry]
fn main() -> ! {
    microflow_m4f::start();
    microflow_m4f::run_baseline()
}
