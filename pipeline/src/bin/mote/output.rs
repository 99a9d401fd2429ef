//! Printing for people and for scripts.

use mote_pipeline::emulator::EmulatorError;
use mote_pipeline::link::LinkError;
use mote_pipeline::link::forwarder::ForwarderError;
use mote_pipeline::live::LiveError;
use mote_pipeline::training::TrainingError;

/// Prints an error: `error: …` for people, `{"error": {"code", "message"}}` for scripts.
pub fn print_error(error: &anyhow::Error, json: bool) {
    let code = error
        .downcast_ref::<LinkError>()
        .map(LinkError::code)
        .or_else(|| error.downcast_ref::<ForwarderError>().map(ForwarderError::code))
        .or_else(|| error.downcast_ref::<TrainingError>().map(TrainingError::code))
        .or_else(|| error.downcast_ref::<LiveError>().map(LiveError::code))
        .or_else(|| error.downcast_ref::<EmulatorError>().map(EmulatorError::code))
        .or_else(|| error.downcast_ref::<mote_flash::FlashError>().map(mote_flash::FlashError::code))
        .unwrap_or("error");
    if json {
        let value = serde_json::json!({ "error": { "code": code, "message": format!("{error:#}") } });
        println!("{value}");
    } else {
        eprintln!("error: {error:#}");
    }
}

pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: cannot print JSON: {error}"),
    }
}
