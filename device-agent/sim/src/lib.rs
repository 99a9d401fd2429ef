//! The virtual board.
