//! Mote Studio: a thin Tauri shell. Commands and events over `mote-pipeline`, app state, and
//! the typed bindings the UI imports (`ui/src/bindings.ts`, generated — see `specta_builder`).
//! No domain logic lives here: every command calls a pipeline function and converts at the
//! boundary (`dto`).

mod dataset;
mod devices;
mod dto;
mod flash;
mod gateway;
mod model;
mod project;
mod state;
mod tune;

use state::AppState;

/// Every command and event the UI may use; the bindings are generated from this list.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            devices::app_info,
            devices::list_devices,
            devices::start_virtual_board,
            devices::stop_virtual_board,
            devices::start_emulated_board,
            devices::detect_forwarder,
            flash::flash_plan,
            flash::flash_board,
            flash::export_uf2,
            devices::stop_emulated_board,
            devices::connect,
            devices::connected_board,
            devices::disconnect,
            devices::set_activity,
            devices::start_live,
            devices::stop_live,
            project::project_info,
            project::list_samples,
            project::record_sample,
            project::record_forwarder_sample,
            project::cancel_recording,
            project::set_recording_sensor,
            project::delete_sample,
            project::open_project,
            project::export_bundle,
            dataset::sample_data,
            dataset::relabel_samples,
            dataset::move_samples,
            dataset::delete_samples,
            dataset::crop_sample,
            dataset::split_sample,
            dataset::auto_split,
            dataset::dataset_stats,
            dataset::import_samples,
            model::get_impulse,
            model::check_impulse,
            model::save_impulse,
            model::train_model,
            model::cancel_training,
            model::test_model,
            model::feature_points,
            model::sample_features,
            model::latest_model_info,
            model::deploy_model,
            model::export_model,
            model::start_classify,
            model::stop_classify,
            tune::start_tune,
            tune::cancel_tune,
            tune::latest_tune,
            tune::apply_tune_trial,
            gateway::gateway_settings,
            gateway::start_gateway,
            gateway::stop_gateway,
            gateway::gateway_status,
        ])
        .events(tauri_specta::collect_events![dto::SessionEnded])
}

/// Where the generated bindings live.
pub fn bindings_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts")
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    let typescript = specta_typescript::Typescript::default()
        .header("// Generated from src-tauri by tauri-specta. Do not edit: run `UPDATE_BINDINGS=1 cargo test -p mote-studio bindings`.\n");
    specta_builder().export(typescript, path).map_err(|error| error.to_string())
}

pub fn run() {
    let builder = specta_builder();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::default())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("Mote Studio could not start: {error}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    /// `ui/src/bindings.ts` matches the commands and types; `UPDATE_BINDINGS=1` rewrites it.
    #[test]
    fn bindings_are_up_to_date() {
        let fresh = std::env::temp_dir().join(format!("mote-bindings-{}.ts", std::process::id()));
        super::export_bindings(&fresh).expect("bindings export");
        let fresh_text = std::fs::read_to_string(&fresh).expect("read fresh bindings");
        let _ = std::fs::remove_file(&fresh);
        let committed = super::bindings_path();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&committed, &fresh_text).expect("write bindings");
            return;
        }
        let current = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(
            current == fresh_text,
            "ui/src/bindings.ts is out of date with the Rust commands: run `UPDATE_BINDINGS=1 cargo test -p mote-studio bindings`"
        );
    }
}
