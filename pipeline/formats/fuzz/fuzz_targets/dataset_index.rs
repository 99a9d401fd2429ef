//! Fuzzes the parser of a Mote dataset's index, `samples.csv`. It must never panic; a bad index is
//! an `ImportError` value.
//!
//! The first input byte chooses which listed files exist: all of them (bit 0 clear), or those with
//! a name of even length. Every index it accepts lists non-empty, unique names, labels, and files
//! that exist, none absolute or with a `..`; written again with `index_text`, it parses to the same
//! rows, sorted by name.
//!
//! Seeds (`seeds/dataset_index`): BasicMotions' `samples.csv` (`datasets/basic-motions`) and a small
//! index with quoted fields, an extra column and columns in another order. From
//! `pipeline/formats/fuzz`:
//! `cargo +nightly fuzz run dataset_index corpus/dataset_index seeds/dataset_index -- -runs=10000000`

#![no_main]

use std::collections::HashSet;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mote_formats::mote_dataset::{index_text, parse_index};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let path = Path::new("samples.csv");
    let exists = |file: &str| mode & 1 == 0 || file.len().is_multiple_of(2);
    let Ok(rows) = parse_index(path, text, exists) else { return };

    let mut names = HashSet::new();
    for row in &rows {
        assert!(!row.name.is_empty() && !row.label.is_empty(), "{row:?}");
        assert!(names.insert(&row.name), "`{}` twice", row.name);
        assert!(exists(&row.file), "{row:?}");
        let inside = !row.file.is_empty()
            && !row.file.starts_with('/')
            && !Path::new(&row.file).is_absolute()
            && row.file.split('/').all(|part| part != "..");
        assert!(inside, "{row:?}");
    }

    let written = index_text(&rows);
    let again = parse_index(path, &written, |_| true)
        .unwrap_or_else(|error| panic!("{rows:?} written as {written:?} does not read back: {error}"));
    let mut sorted = rows.clone();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(again, sorted, "{written:?}");
});
