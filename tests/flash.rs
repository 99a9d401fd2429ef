//! `mote flash` for the real boards with the firmware the test command builds: the flash plan
//! (regions, sectors, algorithm from probe-rs's target database) for the micro:bit v2 and the
//! Pico, a model placed in slot 0, the "no debug probe" path (no probe exists here), and the
//! Pico's UF2 image checked against `arm-none-eabi-objcopy`'s binary of the same ELF.
//! Not tested (no hardware): flashing through a probe, a mounted RPI-RP2 drive.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mote_e2e::workspace_binary;

fn mote(dir: &Path, args: &[&str]) -> Output {
    Command::new(workspace_binary("mote")).current_dir(dir).args(args).output().unwrap()
}

fn ok(output: Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn elf(board: &str, target: &str) -> PathBuf {
    let elf = mote_pipeline::firmware::board_elf(board, target);
    assert!(elf.exists(), "{} is built by scripts/build-firmware.sh", elf.display());
    elf
}

fn check_plan(plan: &serde_json::Value, flash_start: u64, sector: u64) {
    assert!(!plan["algorithm"].as_str().unwrap().is_empty(), "{plan}");
    assert_eq!(plan["sector_size"], sector);
    let writes = plan["writes"].as_array().unwrap();
    let erase = plan["erase"].as_array().unwrap();
    for range in erase {
        let (start, end) = (range["start"].as_u64().unwrap(), range["end"].as_u64().unwrap());
        assert!((start - flash_start) % sector == 0 && (end - flash_start) % sector == 0, "{range}");
    }
    for write in writes {
        let (start, len) = (write["start"].as_u64().unwrap(), write["len"].as_u64().unwrap());
        let covered = erase.iter().any(|range| {
            range["start"].as_u64().unwrap() <= start && start + len <= range["end"].as_u64().unwrap()
        });
        assert!(covered, "every write lies in an erased range: {write}");
    }
    let written: u64 = writes.iter().map(|write| write["len"].as_u64().unwrap()).sum();
    assert_eq!(plan["bytes_written"], written);
}

#[test]
fn flash_plans_for_the_microbit_and_the_pico() {
    let dir = tempfile::tempdir().unwrap();
    let microbit = elf("microbit-v2", "thumbv7em-none-eabihf");
    let out = ok(mote(
        dir.path(),
        &["--json", "flash", "--board", "microbit-v2", "--elf", microbit.to_str().unwrap(), "--dry-run"],
    ));
    let plan = &out["plan"];
    check_plan(plan, 0, 4096);
    assert_eq!(plan["chip"], "nRF52833_xxAA");
    assert_eq!(plan["writes"][0]["start"], 0, "the vector table at the start of flash: {plan}");
    let last_end = plan["erase"].as_array().unwrap().last().unwrap()["end"].as_u64().unwrap();
    assert!(last_end <= 0x6_0000, "firmware stays below the model slots: {plan}");

    let pico = elf("rp2040-pico", "thumbv6m-none-eabi");
    let out = ok(mote(
        dir.path(),
        &["--json", "flash", "--board", "rp2040-pico", "--elf", pico.to_str().unwrap(), "--dry-run"],
    ));
    let plan = &out["plan"];
    check_plan(plan, 0x1000_0000, 4096);
    assert_eq!(plan["chip"], "RP2040");
    let boot2 =
        plan["writes"].as_array().unwrap().iter().find(|w| w["start"] == 0x1000_0000u64).expect("boot2");
    assert_eq!(boot2["len"], 256, "the second-stage bootloader: {plan}");

    // One board's firmware is refused for the other, by address.
    let wrong = mote(
        dir.path(),
        &["--json", "flash", "--board", "microbit-v2", "--elf", pico.to_str().unwrap(), "--dry-run"],
    );
    assert!(!wrong.status.success());
    let text = String::from_utf8_lossy(&wrong.stdout);
    assert!(text.contains("outside_flash") && text.contains("0x10000"), "{text}");
    let garbage = dir.path().join("garbage.elf");
    std::fs::write(&garbage, b"\x7fELF\x01\x01 not really").unwrap();
    let text = String::from_utf8_lossy(
        &mote(
            dir.path(),
            &["--json", "flash", "--board", "microbit-v2", "--elf", garbage.to_str().unwrap(), "--dry-run"],
        )
        .stdout,
    )
    .into_owned();
    assert!(text.contains("not_firmware") && text.contains("garbage.elf"), "{text}");
}

#[test]
fn a_trained_model_rides_along_in_slot_zero_and_no_probe_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    for args in [
        vec!["init", "--project", "p"],
        vec!["import", "--project", "p", dataset.to_str().unwrap()],
        vec!["train", "--project", "p"],
        vec!["deploy", "--project", "p", "--export", "blob", "--out", "blob"],
    ] {
        let output = mote(dir.path(), &args);
        assert!(output.status.success(), "mote {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let blob_path = std::fs::read_dir(dir.path().join("blob")).unwrap().flatten().next().unwrap().path();
    let blob = std::fs::read(&blob_path).unwrap();
    let microbit = elf("microbit-v2", "thumbv7em-none-eabihf");
    let args = [
        "--json",
        "flash",
        "--board",
        "microbit-v2",
        "--elf",
        microbit.to_str().unwrap(),
        "--model-blob",
        blob_path.to_str().unwrap(),
    ];
    let out = ok(mote(dir.path(), &[&args[..], &["--dry-run"]].concat()));
    let writes = out["plan"]["writes"].as_array().unwrap();
    let header = writes.iter().find(|w| w["start"] == 0x6_0000u64).expect("slot 0 header");
    assert_eq!(header["len"], 16);
    let model = writes.iter().find(|w| w["start"] == 0x6_1000u64).expect("slot 0 model");
    assert_eq!(model["len"], blob.len());

    // No probe on this machine: a plain message and code, nothing else happens.
    let output = mote(dir.path(), &args);
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("no_probe") && text.contains("no debug probe found"), "{text}");
    let output = mote(dir.path(), &["flash", "--board", "microbit-v2", "--elf", microbit.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("Connect the micro:bit by USB"));

    // A file that is not a model is refused before anything is planned.
    let text = String::from_utf8_lossy(
        &mote(
            dir.path(),
            &[
                "--json",
                "flash",
                "--board",
                "microbit-v2",
                "--elf",
                microbit.to_str().unwrap(),
                "--model-blob",
                microbit.to_str().unwrap(),
                "--dry-run",
            ],
        )
        .stdout,
    )
    .into_owned();
    assert!(text.contains("is not a Mote model"), "{text}");
}

#[test]
fn the_pico_uf2_matches_the_elf() {
    let dir = tempfile::tempdir().unwrap();
    let pico = elf("rp2040-pico", "thumbv6m-none-eabi");
    let image_path = dir.path().join("mote.uf2");
    let out = ok(mote(
        dir.path(),
        &[
            "--json",
            "flash",
            "--board",
            "rp2040-pico",
            "--elf",
            pico.to_str().unwrap(),
            "--uf2",
            image_path.to_str().unwrap(),
        ],
    ));
    let image = std::fs::read(&image_path).unwrap();
    assert_eq!(out["blocks"], image.len() / 512);
    let (decoded, families) = uf2_decode::convert_from_uf2(&image).unwrap();
    assert_eq!(families.get(&mote_flash::RP2040_FAMILY), Some(&0x1000_0000));

    // The same ELF as a flat binary from binutils: every byte agrees (gaps: 0 there, 0xFF in
    // the UF2's partly used pages).
    let flat = dir.path().join("flat.bin");
    let status =
        Command::new("arm-none-eabi-objcopy").args(["-O", "binary"]).arg(&pico).arg(&flat).status().unwrap();
    assert!(status.success());
    let flat = std::fs::read(flat).unwrap();
    assert!(decoded.len() >= flat.len(), "{} < {}", decoded.len(), flat.len());
    let differing = flat.iter().zip(&decoded).filter(|(a, b)| a != b && !(**a == 0 && **b == 0xFF)).count();
    assert_eq!(differing, 0, "UF2 and objcopy disagree on {differing} bytes");
    assert_eq!(&decoded[..4], &flat[..4]);
}

/// `ORIGIN` and `LENGTH` of the `FLASH` region in a `memory.x` (terms like `0x10000100`, `384K`,
/// `2048K - 0x100 - 128K`).
fn flash_region(memory_x: &str) -> (u64, u64) {
    let line = memory_x.lines().find(|line| line.trim_start().starts_with("FLASH")).expect("a FLASH region");
    let value = |key: &str| -> u64 {
        let expression = line.split(key).nth(1).unwrap().split(',').next().unwrap();
        let mut total: i64 = 0;
        let mut sign = 1;
        for token in expression.split_whitespace() {
            match token {
                "+" => sign = 1,
                "-" => sign = -1,
                term => {
                    let number = match (term.strip_prefix("0x"), term.strip_suffix('K')) {
                        (Some(hex), _) => i64::from_str_radix(hex, 16).unwrap(),
                        (None, Some(kib)) => kib.parse::<i64>().unwrap() * 1024,
                        (None, None) => term.parse().unwrap(),
                    };
                    total += sign * number;
                }
            }
        }
        total as u64
    };
    (value("ORIGIN ="), value("LENGTH ="))
}

/// The model slots live in one table (`mote_agent::layout`), which the firmware and mote-flash
/// use; each board's linker script must end its code exactly where slot 0 starts.
#[test]
fn the_linker_scripts_leave_the_model_slots_free() {
    let firmware = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../device-agent/firmware");
    for (board, layout) in
        [("microbit-v2", mote_agent::layout::MICROBIT_V2), ("rp2040-pico", mote_agent::layout::RP2040_PICO)]
    {
        let memory_x = std::fs::read_to_string(firmware.join(board).join("memory.x")).unwrap();
        let (origin, length) = flash_region(&memory_x);
        assert_eq!(origin + length, u64::from(layout.slot0), "{board}: code must end where slot 0 starts");
        let slots = board.parse::<mote_flash::RealBoard>().unwrap().slots();
        assert_eq!(slots[0].start, u64::from(layout.slot0), "{board}");
        assert_eq!(slots[1].end, u64::from(layout.flash_base + layout.flash_len), "{board}");
    }
}
