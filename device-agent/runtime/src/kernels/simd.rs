//! The Armv7E-M DSP instructions the packed kernels are written in, one function each.
//!
//! On a core with the DSP extension (Cortex-M4/M7) each function is that single instruction. On
//! every other target (the host, Cortex-M0+) it is an exact emulation in plain Rust, so the packed
//! kernels compile and run on the host too, where tests compare them with the reference kernels
//! integer for integer (`kernels::packed`). The emulations follow the Arm Architecture Reference
//! Manual's pseudocode; a word holds two signed halfwords, `lo` in bits 0–15 and `hi` in 16–31.
//!
//! Only the instructions' results are modelled: none of the kernels reads the Q or GE flags.

/// The low halfword, sign-extended.
#[cfg_attr(all(target_arch = "arm", target_feature = "dsp"), allow(dead_code))]
#[inline(always)]
fn lo(word: u32) -> i32 {
    i32::from(word as u16 as i16)
}

/// The high halfword, sign-extended.
#[cfg_attr(all(target_arch = "arm", target_feature = "dsp"), allow(dead_code))]
#[inline(always)]
fn hi(word: u32) -> i32 {
    i32::from((word >> 16) as u16 as i16)
}

/// Two halfwords as one word (each value truncated to 16 bits).
#[inline(always)]
pub(crate) fn pair(lo: i32, hi: i32) -> u32 {
    u32::from(lo as u16) | (u32::from(hi as u16) << 16)
}

/// `SXTB16 d, x`: bytes 0 and 2 of `x`, sign-extended into the low and high halfwords.
#[inline(always)]
pub(crate) fn sxtb16(x: u32) -> u32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: u32;
        // SAFETY: a register-only instruction; it touches no memory and no flags.
        unsafe {
            core::arch::asm!("sxtb16 {d}, {x}", d = lateout(reg) d, x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        pair(i32::from(x as u8 as i8), i32::from((x >> 16) as u8 as i8))
    }
}

/// `SXTB16 d, x, ROR #8`: bytes 1 and 3 of `x`, sign-extended into the low and high halfwords.
#[inline(always)]
pub(crate) fn sxtb16_ror8(x: u32) -> u32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: u32;
        // SAFETY: as in `sxtb16`.
        unsafe {
            core::arch::asm!("sxtb16 {d}, {x}, ror #8", d = lateout(reg) d, x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        sxtb16(x >> 8)
    }
}

/// `SADD16 d, a, b`: the two halfword sums, each wrapping in 16 bits.
#[inline(always)]
pub(crate) fn sadd16(a: u32, b: u32) -> u32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: u32;
        // SAFETY: register-only; it sets the GE flags, which the compiler treats as clobbered
        // (no `preserves_flags`).
        unsafe {
            core::arch::asm!("sadd16 {d}, {a}, {b}", d = lateout(reg) d, a = in(reg) a, b = in(reg) b,
                options(pure, nomem, nostack));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        pair(lo(a) + lo(b), hi(a) + hi(b))
    }
}

/// `SMLAD d, a, b, acc`: `acc + lo(a)·lo(b) + hi(a)·hi(b)`, wrapping in 32 bits.
#[inline(always)]
pub(crate) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: i32;
        // SAFETY: register-only; it may set the Q flag, which nothing here reads.
        unsafe {
            core::arch::asm!("smlad {d}, {a}, {b}, {acc}", d = lateout(reg) d, a = in(reg) a,
                b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        // Each product is within ±2^30; their sum (up to 2^31) and the add to `acc` wrap.
        acc.wrapping_add(lo(a) * lo(b)).wrapping_add(hi(a) * hi(b))
    }
}

/// `SMLABB d, a, b, acc`: `acc + lo(a)·lo(b)`, wrapping in 32 bits.
#[inline(always)]
pub(crate) fn smlabb(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: i32;
        // SAFETY: as in `smlad`.
        unsafe {
            core::arch::asm!("smlabb {d}, {a}, {b}, {acc}", d = lateout(reg) d, a = in(reg) a,
                b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        acc.wrapping_add(lo(a) * lo(b))
    }
}

/// `SMLATT d, a, b, acc`: `acc + hi(a)·hi(b)`, wrapping in 32 bits.
#[inline(always)]
pub(crate) fn smlatt(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: i32;
        // SAFETY: as in `smlad`.
        unsafe {
            core::arch::asm!("smlatt {d}, {a}, {b}, {acc}", d = lateout(reg) d, a = in(reg) a,
                b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        acc.wrapping_add(hi(a) * hi(b))
    }
}

/// The four signed bytes of `a` and `b` lane by lane, the larger of each pair (`SSUB8` sets a
/// lane's GE flag when `a − b >= 0`, then `SEL` takes that lane from `a`, else from `b`).
#[inline(always)]
pub(crate) fn max_i8x4(a: u32, b: u32) -> u32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: u32;
        // SAFETY: register-only; the GE flags SSUB8 sets are read by SEL inside this block.
        unsafe {
            core::arch::asm!("ssub8 {d}, {a}, {b}", "sel {d}, {a}, {b}", d = out(reg) d, a = in(reg) a,
                b = in(reg) b, options(pure, nomem, nostack));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
        u32::from_le_bytes(core::array::from_fn(|lane| (a[lane] as i8).max(b[lane] as i8) as u8))
    }
}

/// The smaller of each pair of signed bytes (`SSUB8`, then `SEL` with the operands swapped).
#[inline(always)]
pub(crate) fn min_i8x4(a: u32, b: u32) -> u32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        let d: u32;
        // SAFETY: as in `max_i8x4`.
        unsafe {
            core::arch::asm!("ssub8 {d}, {a}, {b}", "sel {d}, {b}, {a}", d = out(reg) d, a = in(reg) a,
                b = in(reg) b, options(pure, nomem, nostack));
        }
        d
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
        u32::from_le_bytes(core::array::from_fn(|lane| (a[lane] as i8).min(b[lane] as i8) as u8))
    }
}

/// Four bytes as a little-endian word: the order `SXTB16` splits them in.
///
/// One unaligned word load (Armv7-M allows them for `LDR`): assembling the word from bytes lets
/// the compiler emit four byte loads in some loops.
#[inline(always)]
pub(crate) fn word(bytes: &[i8; 4]) -> u32 {
    // SAFETY: `bytes` is four readable bytes; `read_unaligned` needs no alignment.
    u32::from_le(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<u32>()) })
}

#[cfg(all(test, not(all(target_arch = "arm", target_feature = "dsp"))))]
mod tests {
    use super::*;

    #[test]
    fn emulations_follow_the_reference_manual() {
        // Bytes (lowest first) 0x80 = −128, 0x7f = 127, 0xff = −1, 0x01 = 1.
        let x = u32::from_le_bytes([0x80, 0x7f, 0xff, 0x01]);
        assert_eq!(sxtb16(x), pair(-128, -1));
        assert_eq!(sxtb16_ror8(x), pair(127, 1));
        // Halfword sums wrap in 16 bits: 32767 + 1 = −32768.
        assert_eq!(sadd16(pair(32767, -5), pair(1, 3)), pair(-32768, -2));
        // −32768·−32768 twice is 2^31: the sum wraps in 32 bits, as SMLAD's does.
        let min_pair = pair(-32768, -32768);
        assert_eq!(smlad(min_pair, min_pair, 0), i32::MIN);
        assert_eq!(smlad(pair(3, -4), pair(5, 6), 10), 10 + 15 - 24);
        assert_eq!(smlabb(pair(3, -4), pair(5, 6), 10), 25);
        assert_eq!(smlatt(pair(3, -4), pair(5, 6), 10), -14);
        assert_eq!(smlabb(pair(-2, 0), pair(2, 0), i32::MIN), i32::MAX - 3);
        assert_eq!(word(&[1, -1, 2, -2]), 0xfe02_ff01);
        let (a, b) = (word(&[-128, 127, -1, 5]), word(&[127, -128, 0, 5]));
        assert_eq!(max_i8x4(a, b), word(&[127, 127, 0, 5]));
        assert_eq!(min_i8x4(a, b), word(&[-128, -128, -1, 5]));
    }
}
