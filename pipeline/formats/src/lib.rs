//! The file formats Mote reads from outside: bytes in, values or errors out.
//!
//! Every parser takes bytes or text; a `path` argument only names the file in error messages, and
//! nothing here touches the filesystem (the dataset index asks its caller whether a listed file
//! exists). A bad file is an [`ImportError`] or a [`LockError`] value, never a panic: each parser
//! is fuzzed (`pipeline/formats/fuzz`). `mote-project` reads files and stores what they hold;
//! `mote-pipeline` checks bundles against their lock.
//!
//! * [`import`] — one sample file of any format: [`FileFormat`], [`parse_bytes`] → [`ParsedFile`],
//!   [`to_recording`].
//! * [`ei_csv`], [`ei_json`] (with its HMAC signature), [`wav`] — Edge Impulse CSV and JSON, WAV.
//! * [`mote_dataset`] — Mote's dataset format: the index `samples.csv` and sample files.
//! * [`lock`] — `mote.lock` of a CI bundle.
//! * [`recording`] — [`Recording`], [`Axis`], [`Split`]; [`raw_counts`] — floats to raw `i16` counts with a
//!   power-of-two scale per axis; [`csv_text`] — the CSV records these formats use;
//!   [`error`] — [`ImportError`] and where in a file it is.

pub mod csv_text;
pub mod ei_csv;
pub mod ei_json;
pub mod error;
pub mod import;
pub mod lock;
pub mod mote_dataset;
pub mod raw_counts;
pub mod recording;
pub mod wav;

pub use error::{ImportError, ImportErrorKind, ImportErrors, Location};
pub use import::{FileFormat, ParsedFile, ParsedValues, canonical_rate, parse_bytes, to_recording};
pub use lock::{LOCK_FILE, LOCK_VERSION, Lock, LockError};
pub use recording::{Axis, ContentHash, Recording, Split};
