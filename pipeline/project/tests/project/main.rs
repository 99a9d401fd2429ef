//! Integration tests of mote-project against real SQLite files in temporary folders (one test
//! binary, so the large dependencies are linked once).

mod basic_motions;
mod common;
mod fit;
mod kill;
mod lifecycle;
mod malformed;
mod round_trips;
