//! The headless workbench engine: everything the desktop app and the `mote` CLI do, as functions.
pub mod augment;
pub mod bundle;
pub mod emulator;
pub mod error;
pub mod export;
pub mod features;
pub mod firmware;
pub mod form;
pub mod gateway;
pub mod impulse;
pub mod int8;
pub mod link;
pub mod live;
pub mod models;
pub mod parity;
pub mod record;
pub mod training;
pub mod tune;
pub mod virtual_board;

/// The project store (`mote.toml`, samples, runs, models): the front-ends reach it through the
/// engine, which adds the rules that span crates.
pub use mote_project as project;
