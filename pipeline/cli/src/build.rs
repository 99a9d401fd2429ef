//! `mote build`: rebuild a bundle's model in CI, write the artifacts, and check budget gates.
//! Exit code 0 = built and every gate passed; 1 = a gate failed; 2 = the bundle is unusable.

use std::path::PathBuf;
use std::process::ExitCode;

use mote_pipeline::bundle::{BundleError, Gate, build_bundle};

use crate::output::print_json;

#[derive(clap::Args)]
pub struct BuildCommand {
    /// The bundle folder (`mote export --out DIR`).
    bundle: PathBuf,
    /// Where the artifacts go (created; must be empty).
    #[arg(long)]
    out: PathBuf,
    /// A budget the model must meet, e.g. `accuracy>=0.95`, `int8_drop<=0.01`, `ram<=8KiB`,
    /// `flash<=32KiB`, `latency_ms@cortex-m4f-64mhz<=20`. Repeatable.
    #[arg(long = "gate", value_name = "GATE")]
    gates: Vec<Gate>,
}

pub async fn run(command: BuildCommand, json: bool) -> ExitCode {
    let outcome = build_bundle(&command.bundle, &command.out, &command.gates).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            let unusable = !matches!(error, BundleError::Io { .. });
            if json {
                print_json(
                    &serde_json::json!({ "error": { "code": error.code(), "message": error.to_string() } }),
                );
            } else {
                eprintln!("error: {error}");
            }
            return if unusable { ExitCode::from(2) } else { ExitCode::FAILURE };
        }
    };
    let failed = outcome.gates.iter().filter(|g| !g.passed).count();
    if json {
        print_json(&outcome);
    } else {
        let m = &outcome.metrics;
        let percent = |v: Option<f32>| v.map_or("—".into(), |v| format!("{:.1} %", v * 100.0));
        println!(
            "built {}: test accuracy {} (int8 {}), blob {} B, RAM {} B, flash {} B; {} artifacts in {}",
            m.model,
            percent(m.accuracy),
            percent(m.int8_accuracy),
            m.blob_bytes,
            m.ram_bytes,
            m.flash_bytes,
            outcome.artifacts.len(),
            command.out.display()
        );
        if !outcome.gates.is_empty() {
            println!("\n{:<44} {:>14}  verdict", "gate", "value");
            for gate in &outcome.gates {
                let value = gate.value.map_or("—".to_string(), |v| format!("{v:.4}"));
                println!("{:<44} {:>14}  {}", gate.gate, value, if gate.passed { "pass" } else { "FAIL" });
            }
        }
    }
    if failed > 0 {
        if !json {
            eprintln!("\n{failed} gate{} failed", if failed == 1 { "" } else { "s" });
        }
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
