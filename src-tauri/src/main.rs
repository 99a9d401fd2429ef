//! Mote Studio's entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    mote_studio::run();
}
