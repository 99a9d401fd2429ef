//! The headless workbench engine: everything the desktop app and the `mote` CLI do, as functions.
pub mod bundle;
pub mod emulator;
pub mod error;
pub mod features;
pub mod impulse;
pub mod int8;
pub mod link;
pub mod live;
pub mod models;
pub mod parity;
pub mod record;
pub mod training;
