//! Spoken keywords synthesised with Debian's `espeak-ng`, split by voice: 8 words; 4 voices ×
//! 4 variants × 2 speeds × 2 pitches to train on, 2 other voices (same variants) to test on;
//! 1 s clips at 22,050 Hz. Nothing is shipped: the set is made where it is used.

use std::path::Path;
use std::process::Command;

pub const WORDS: [&str; 8] = ["yes", "no", "up", "down", "left", "right", "on", "off"];

/// One second of each word per voice setting, padded with silence, as `<split>/<word>.<…>.wav`.
pub fn synthesise(dir: &Path) {
    let settings = |voices: &[&str]| {
        let mut all = Vec::new();
        for voice in voices {
            for variant in ["", "+m3", "+f2", "+klatt"] {
                for speed in [140, 175] {
                    for pitch in [35, 60] {
                        all.push((format!("{voice}{variant}"), speed, pitch));
                    }
                }
            }
        }
        all
    };
    let splits = [
        ("training", settings(&["en", "en-us", "en-gb-scotland", "en-029"])),
        ("testing", settings(&["en-gb-x-rp", "en-gb-x-gbcwmd"])),
    ];
    let spoken = dir.join("spoken.wav");
    for (split, voices) in &splits {
        std::fs::create_dir_all(dir.join(split)).unwrap();
        for word in WORDS {
            for (voice, speed, pitch) in voices {
                let status = Command::new("espeak-ng")
                    .args(["-v", voice, "-s", &speed.to_string(), "-p", &pitch.to_string(), "-w"])
                    .arg(&spoken)
                    .arg(word)
                    .status()
                    .expect("espeak-ng (apt-get install espeak-ng)");
                assert!(status.success(), "espeak-ng -v {voice}");
                let mut reader = hound::WavReader::open(&spoken).unwrap();
                let spec = reader.spec();
                let mut samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
                samples.resize(spec.sample_rate as usize, 0);
                let name = format!("{word}.{}.{speed}.{pitch}.wav", voice.replace('+', "_"));
                let mut writer = hound::WavWriter::create(dir.join(split).join(name), spec).unwrap();
                for sample in samples {
                    writer.write_sample(sample).unwrap();
                }
                writer.finalize().unwrap();
            }
        }
    }
    std::fs::remove_file(spoken).unwrap();
}
