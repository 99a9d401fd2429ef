//! Helpers shared by the integration tests: projects in temp folders with a fixed clock, input file
//! builders, and snapshots of a project's files and logical content.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mote_project::{Clock, FixedClock, Project, SampleFilter};
use sha2::{Digest, Sha256};

/// 2025-11-22T05:40:00Z: every sample created by the tests gets this time.
pub fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::at_unix_seconds(1_763_790_000))
}

pub async fn create_project(dir: &Path) -> Project {
    Project::create(dir, None, clock()).await.expect("create project")
}

pub async fn open_project(dir: &Path) -> Project {
    Project::open_with_clock(dir, clock()).await.expect("open project")
}

pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An Edge Impulse CSV with `n_rows` rows of `axes.len()` smooth values at `interval_ms`.
pub fn ei_csv(axes: &[&str], interval_ms: f64, n_rows: usize, phase: f64) -> String {
    let mut text = format!("timestamp,{}\n", axes.join(","));
    for row in 0..n_rows {
        let values: Vec<String> = (0..axes.len())
            .map(|axis| {
                format!("{}", ((row as f64 * 0.3 + phase + axis as f64).sin() * 9.81 * (axis + 1) as f64))
            })
            .collect();
        text.push_str(&format!("{},{}\n", row as f64 * interval_ms, values.join(",")));
    }
    text
}

/// An unsigned Edge Impulse data-acquisition JSON file.
pub fn ei_json(sensors: &[(&str, &str)], interval_ms: f64, values: &[Vec<f64>]) -> String {
    serde_json::json!({
        "protected": { "ver": "v1", "alg": "none", "iat": 1564128599 },
        "signature": mote_project::import::EMPTY_SIGNATURE,
        "payload": {
            "device_name": "ac:87:a3:0a:2d:1b",
            "device_type": "DISCO-L475VG-IOT01A",
            "interval_ms": interval_ms,
            "sensors": sensors.iter().map(|(name, units)| serde_json::json!({"name": name, "units": units})).collect::<Vec<_>>(),
            "values": values,
        }
    })
    .to_string()
}

/// A WAV file's bytes.
pub fn wav(channels: u16, bits: u16, format: hound::SampleFormat, rate: u32, n_frames: usize) -> Vec<u8> {
    let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: bits, sample_format: format };
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for frame in 0..n_frames {
            for channel in 0..channels {
                let value = ((frame as f64 * 0.05 + channel as f64).sin() * 0.8) as f32;
                match (format, bits) {
                    (hound::SampleFormat::Float, _) => writer.write_sample(value).unwrap(),
                    (_, 8) => writer.write_sample((value * 127.0) as i8).unwrap(),
                    (_, 16) => writer.write_sample((value * 32767.0) as i16).unwrap(),
                    (_, _) => writer.write_sample((value * 8_388_607.0) as i32).unwrap(),
                }
            }
        }
        writer.finalize().unwrap();
    }
    cursor.into_inner()
}

pub fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// File names in a project folder and the sha256 of `mote.toml` and `mote.db`.
pub fn file_snapshot(dir: &Path) -> (Vec<String>, String, String) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (names, sha256_file(&dir.join("mote.toml")), sha256_file(&dir.join("mote.db")))
}

/// Everything the store holds, as text: samples with data hashes, runs, models.
pub async fn logical_snapshot(project: &Project) -> Vec<String> {
    let mut lines: Vec<String> = project
        .load_samples(&SampleFilter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|sample| format!("{:?} {:?}", sample.info, sample.recording.blob()))
        .collect();
    lines.extend(project.list_runs().await.unwrap().into_iter().map(|run| format!("{run:?}")));
    lines.extend(project.list_models().await.unwrap().into_iter().map(|model| format!("{model:?}")));
    lines
}
