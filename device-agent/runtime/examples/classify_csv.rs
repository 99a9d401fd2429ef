//! Classifies every row of a features CSV (as `mote features --csv` writes it) with a model blob,
//! and prints accuracy and host latency as JSON — Mote's side of the peer benchmark
//! (`scripts/bench-peers.sh`). Build it optimised: `cargo run --release -p mote-runtime
//! --example classify_csv -- model.mote features.csv [split]`.

use std::time::Instant;

use mote_runtime::Model;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, blob_path, csv_path, rest @ ..] = args.as_slice() else {
        return Err("usage: classify_csv MODEL.mote FEATURES.csv [SPLIT]".into());
    };
    let split = rest.first().map(String::as_str).unwrap_or("test");
    let blob = std::fs::read(blob_path)?;
    let model = Model::parse(&blob)?;
    let labels: Vec<&str> = model.labels().collect();
    let text = std::fs::read_to_string(csv_path)?;
    let mut rows: Vec<(usize, Vec<f32>)> = Vec::new();
    for (line_idx, line) in text.lines().enumerate().skip(1) {
        // split,"label","sample",f0,… (labels and sample names are quoted and may contain commas)
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut field)),
                _ => field.push(c),
            }
        }
        fields.push(field);
        if fields[0] != split {
            continue;
        }
        let label = labels.iter().position(|l| *l == fields[1]).ok_or_else(|| {
            format!("line {}: label `{}` is not one of the model's", line_idx + 1, fields[1])
        })?;
        let values = fields[3..].iter().map(|v| v.parse::<f32>()).collect::<Result<Vec<_>, _>>()?;
        rows.push((label, values));
    }
    let mut arena = vec![0u8; model.arena_len()];
    let mut correct = 0;
    for (label, features) in &rows {
        correct += usize::from(model.classify(features, &mut arena)?.top == *label);
    }
    // Latency: every row classified repeatedly for at least a second.
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed().as_secs_f64() < 1.0 {
        for (_, features) in &rows {
            std::hint::black_box(model.classify(std::hint::black_box(features), &mut arena)?.top);
            calls += 1;
        }
    }
    let latency_us = started.elapsed().as_secs_f64() * 1e6 / calls.max(1) as f64;
    println!(
        "{{\"windows\": {}, \"accuracy\": {}, \"latency_us\": {latency_us:.3}, \"blob_bytes\": {}, \"arena_bytes\": {}}}",
        rows.len(),
        correct as f64 / rows.len().max(1) as f64,
        blob.len(),
        model.arena_len()
    );
    Ok(())
}
