//! The headless workbench engine: everything the desktop app and the `mote` CLI do, as functions.
pub mod bundle;
pub mod deploy;
pub mod emulator;
pub mod error;
pub mod features;
pub mod impulse;
pub mod link;
pub mod live;
pub mod record;
pub mod training;
