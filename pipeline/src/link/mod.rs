//! The host side of the device link: finding boards, talking mote-wire to them over serial,
//! and reading boards that only print lines (data-forwarder mode).
pub mod board;
pub mod discover;
pub mod error;
pub mod forwarder;
pub mod model;
pub mod session;
pub mod stats;
pub mod stream;
pub mod types;

pub use board::{Batch, Board, ConnectOptions, Event, Reply};
pub use error::LinkError;
pub use mote_wire::PROTOCOL_VERSION;
pub use types::BoardInfo;
