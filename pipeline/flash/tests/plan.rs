//! Flash plans and UF2 images from synthetic segments (the real firmware is tested end to end in
//! `tests/flash.rs`).

use mote_flash::{FlashError, RP2040_FAMILY, RealBoard, Segment, model_segments, plan, uf2};

fn segment(address: u64, len: usize) -> Segment {
    Segment {
        what: format!("test segment at {address:#x}"),
        address,
        bytes: (0..len).map(|i| i as u8).collect(),
    }
}

#[test]
fn plans_erase_whole_sectors_and_merge_them() {
    let plan =
        plan(RealBoard::MicrobitV2, &[segment(0, 5000), segment(0x2000, 10), segment(0x9000, 1)]).unwrap();
    assert_eq!(plan.sector_size, 4096);
    assert_eq!(plan.erase, vec![0..0x3000, 0x9000..0xA000], "{plan}");
    assert_eq!(plan.bytes_written, 5011);
    assert_eq!(plan.bytes_erased, 0x4000);
    assert!(!plan.algorithm.is_empty());
}

#[test]
fn segments_off_the_flash_or_over_a_model_slot_are_refused_by_address() {
    match plan(RealBoard::MicrobitV2, &[segment(0x7_FFF0, 64)]) {
        Err(FlashError::OutsideFlash { start: 0x7_FFF0, end: 0x8_0030, .. }) => {}
        other => panic!("expected outside flash, got {other:?}"),
    }
    let error = plan(RealBoard::MicrobitV2, &[segment(0x5_FF00, 0x200)]).unwrap_err();
    assert!(matches!(error, FlashError::SlotOverlap { slot: 0, .. }), "{error}");
    assert!(error.to_string().contains("0x0005ff00"), "{error}");
    let error = plan(RealBoard::Rp2040Pico, &[segment(0x101F_8000, 4)]).unwrap_err();
    assert!(matches!(error, FlashError::SlotOverlap { slot: 1, .. }), "{error}");
}

#[test]
fn a_model_goes_into_slot_zero_behind_its_header() {
    let blob = vec![7u8; 1000];
    let segments = model_segments(RealBoard::MicrobitV2, &blob).unwrap();
    assert_eq!(segments[0].address, 0x6_0000);
    assert_eq!(&segments[0].bytes[..4], b"MOTS");
    assert_eq!(u32::from_le_bytes(segments[0].bytes[4..8].try_into().unwrap()), 1000);
    assert_eq!(
        u32::from_le_bytes(segments[0].bytes[8..12].try_into().unwrap()),
        mote_wire::CRC.checksum(&blob)
    );
    assert_eq!(segments[1].address, 0x6_1000);
    let plan = plan(RealBoard::MicrobitV2, &segments).unwrap();
    assert_eq!(plan.erase, vec![0x6_0000..0x6_2000]);
    assert!(matches!(
        model_segments(RealBoard::MicrobitV2, &vec![0; 61 * 1024]),
        Err(FlashError::ModelTooLarge { .. })
    ));
}

#[test]
fn uf2_blocks_follow_the_spec_and_decode_back() {
    let segments = [segment(0x1000_0000, 256), segment(0x1000_0100, 700), segment(0x1000_0500, 3)];
    let image = uf2(RealBoard::Rp2040Pico, &segments).unwrap();
    assert_eq!(image.len() % 512, 0);
    let blocks: Vec<&[u8]> = image.chunks(512).collect();
    assert_eq!(blocks.len(), 5, "pages 0x000, 0x100, 0x200, 0x300, 0x500");
    let word = |block: &[u8], i: usize| u32::from_le_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
    for (n, block) in blocks.iter().enumerate() {
        assert_eq!((word(block, 0), word(block, 1)), (0x0A32_4655, 0x9E5D_5157), "start magic");
        assert_eq!(word(block, 2), 0x2000, "family id present");
        assert_eq!(word(block, 3) % 256, 0, "page aligned");
        assert_eq!(word(block, 4), 256, "payload");
        assert_eq!((word(block, 5), word(block, 6)), (n as u32, 5), "block number and count");
        assert_eq!(word(block, 7), RP2040_FAMILY);
        assert_eq!(u32::from_le_bytes(block[508..512].try_into().unwrap()), 0x0AB1_6F30, "end magic");
    }
    // An independent decoder gives back the bytes at their addresses (gap bytes 0xFF or 0).
    let (binary, families) = uf2_decode::convert_from_uf2(&image).unwrap();
    assert_eq!(families.get(&RP2040_FAMILY), Some(&0x1000_0000));
    for segment in &segments {
        let at = (segment.address - 0x1000_0000) as usize;
        assert_eq!(&binary[at..at + segment.bytes.len()], &segment.bytes[..], "{}", segment.what);
    }
    assert!(matches!(uf2(RealBoard::MicrobitV2, &segments), Err(FlashError::NoUf2(RealBoard::MicrobitV2))));
}

#[test]
fn bad_elf_bytes_are_errors_not_panics() {
    for bytes in [&b""[..], b"\x7fELF", b"garbage that is not an elf file at all", &[0u8; 64]] {
        assert!(mote_flash::elf_segments(bytes).is_err());
    }
    let mut state = 1u32;
    for len in [52usize, 100, 400] {
        let mut bytes = vec![0u8; len];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 1;
        bytes[5] = 1;
        for byte in bytes.iter_mut().skip(6) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state as u8;
        }
        let _ = mote_flash::elf_segments(&bytes);
    }
}
