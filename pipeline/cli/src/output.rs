//! Printing for people and for scripts.

/// Prints an error: `error: …` for people, `{"error": {"code", "message"}}` for scripts. The code
/// is the first one found along the error's chain (`mote_pipeline::error`), else `error`.
pub fn print_error(error: &anyhow::Error, json: bool) {
    let code =
        error.chain().find_map(mote_pipeline::error::own_code).unwrap_or(mote_pipeline::error::GENERIC_CODE);
    let message = chain_message(error);
    if json {
        let value = serde_json::json!({ "error": { "code": code, "message": message } });
        println!("{value}");
    } else {
        eprintln!("error: {message}");
    }
}

/// The error and its causes joined with `: `, leaving out a cause whose text the message already
/// holds (an error that shows its source in its own text would otherwise say it twice).
fn chain_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: cannot print JSON: {error}"),
    }
}

/// A recording of a series (`mote record --count N`) that was not stored; the ones before it
/// were. Its source is the typed `RecordError`, so `--json` reports that error's code.
#[derive(Debug)]
pub struct RecordingProblem {
    pub index: u32,
    pub count: u32,
    pub recorded: usize,
    pub error: mote_pipeline::record::RecordError,
}

impl std::fmt::Display for RecordingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recording {} of {}: {}; the {} before it are kept",
            self.index, self.count, self.error, self.recorded
        )
    }
}

impl std::error::Error for RecordingProblem {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
