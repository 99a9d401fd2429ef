//! Fuzzes `Lock::parse`, the checks of a CI bundle's `mote.lock` made before any file is opened.
//! It must never panic; a bad lock is a `LockError` value.
//!
//! Every lock it accepts has this Mote's lock version and lists only paths that stay inside the
//! bundle (not empty, not absolute, no `..`, no `\`); serialised again (pretty, as `mote export`
//! writes it, and compact), it parses to the same lock.
//!
//! Seeds (`seeds/bundle_lock`): a lock of the BasicMotions dataset as `mote export` writes it, and a
//! small compact one. From `pipeline/formats/fuzz`:
//! `cargo +nightly fuzz run bundle_lock corpus/bundle_lock seeds/bundle_lock -- -runs=10000000`

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mote_formats::lock::{LOCK_VERSION, Lock};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(lock) = Lock::parse(text) else { return };
    assert_eq!(lock.lock_version, LOCK_VERSION);
    for name in lock.files.keys() {
        let inside = !name.is_empty()
            && !name.starts_with('/')
            && !name.contains('\\')
            && !Path::new(name).is_absolute()
            && name.split('/').all(|part| part != "..");
        assert!(inside, "{name:?}");
    }
    let pretty = serde_json::to_string_pretty(&lock).expect("a lock serialises");
    let compact = serde_json::to_string(&lock).expect("a lock serialises");
    for written in [pretty, compact] {
        assert_eq!(Lock::parse(&written).as_ref(), Ok(&lock), "{written}");
    }
});
