//! A Mote project: `mote.toml`, the SQLite sample store, import/export, dataset operations.
//!
//! A project is a folder with `mote.toml` (settings a person edits) and `mote.db` (SQLite in WAL
//! mode: samples, training runs, models). The desktop app and the CLI both call this crate; it has
//! no UI. Entry point: [`Project`].
//!
//! * [`config`] — `mote.toml` parsing (errors name line and key) and comment-preserving rewriting.
//! * [`sample`] — samples: interleaved `i16` with a per-axis scale, content hash.
//! * [`import`] / [`export`] — Edge Impulse CSV/JSON, WAV, Mote's dataset CSV, Parquet (the formats
//!   themselves are parsed by `mote-formats`).
//! * [`dataset`] — list, relabel, move, delete, crop, split into windows, stratified split, stats.
//! * [`runs`] — training runs and stored models.
//! * [`public_datasets`] — converting public datasets (UEA `.ts`) into Mote's dataset format.

pub mod clock;
pub mod config;
pub mod dataset;
pub mod error;
pub mod export;
mod fit;
mod fs_atomic;
pub mod import;
pub mod mote_format;
mod project;
pub mod public_datasets;
mod rng;
pub mod runs;
pub mod sample;
mod store;
pub mod tunes;

// The file formats are `mote-formats`'; these keep their paths in this crate.
use mote_formats::csv_text;
pub use mote_formats::raw_counts;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::{BlockConfig, DataSection, ProjectConfig, ProjectSection, WindowSection};
pub use error::{ConfigError, ImportError, ImportErrorKind, ImportErrors, Location, ProjectError};
pub use fit::{AdoptedImpulse, AdoptedSettings};
pub use import::{ImportOptions, ImportPhase, ImportProgress, ImportReport};
pub use project::{DATABASE_FILE, Project};
pub use sample::{
    Axis, ContentHash, NewSample, Recording, Sample, SampleFilter, SampleId, SampleInfo, Split,
};
pub use store::{AddReport, AddedSample, DuplicateSample};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{ImportOptions, Project, SampleFilter};

    /// The app runs these futures on a multi-threaded runtime, so they must be `Send`; this only has
    /// to compile.
    #[allow(dead_code)]
    fn futures_are_send(project: &mut Project, options: &ImportOptions) {
        fn send<T: Send>(_: T) {}
        send(project.import_files(&[], options));
        send(project.stats(&SampleFilter::all()));
        send(project.export_parquet(Path::new(""), &SampleFilter::all()));
        send(project.export_dataset(Path::new(""), &SampleFilter::all()));
        send(project.auto_split(0.2, 1));
        send(project.split_into_windows(crate::SampleId(1), 10));
        send(project.save_model(None, "", &[], &serde_json::Value::Null));
        send(project.import_dir(Path::new(""), options));
    }
}
