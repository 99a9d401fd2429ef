//! The host side of the device link: finding boards, talking mote-wire to them over serial,
//! and reading boards that only print lines (data-forwarder mode).
pub mod forwarder;
