//! The DSP block configuration inside a blob: one tag byte, then the block's parameters in
//! postcard (each block's struct deserializes without an allocator).

use mote_dsp::{DspConfig, Flatten, Mfcc, Mfe, Raw, Spectral};

const RAW: u8 = 0;
const FLATTEN: u8 = 1;
const SPECTRAL: u8 = 2;
const MFE: u8 = 3;
const MFCC: u8 = 4;

/// The DSP configuration could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DspDecodeError {
    /// Not a configuration [`encode`] wrote.
    Malformed,
    /// A block this build leaves out (mote-dsp's cargo features), by name.
    NotBuilt(&'static str),
}

/// Reads a configuration written by [`encode`]. A block this build does not compute is refused
/// before its parameters are read, so its decoder is not built either.
pub fn decode(bytes: &[u8]) -> Result<DspConfig, DspDecodeError> {
    let (&tag, params) = bytes.split_first().ok_or(DspDecodeError::Malformed)?;
    fn whole<'a, T: serde::Deserialize<'a>>(params: &'a [u8]) -> Result<T, DspDecodeError> {
        match postcard::take_from_bytes::<T>(params) {
            Ok((value, [])) => Ok(value),
            _ => Err(DspDecodeError::Malformed),
        }
    }
    let not_built = |name| Err(DspDecodeError::NotBuilt(name));
    Ok(match tag {
        RAW if !Raw::BUILT => return not_built("raw"),
        FLATTEN if !Flatten::BUILT => return not_built("flatten"),
        SPECTRAL if !Spectral::BUILT => return not_built("spectral"),
        MFE if !Mfe::BUILT => return not_built("mfe"),
        MFCC if !Mfcc::BUILT => return not_built("mfcc"),
        RAW => DspConfig::Raw(whole::<Raw>(params)?),
        FLATTEN => DspConfig::Flatten(whole::<Flatten>(params)?),
        SPECTRAL => DspConfig::Spectral(whole::<Spectral>(params)?),
        MFE => DspConfig::Mfe(whole::<Mfe>(params)?),
        MFCC => DspConfig::Mfcc(whole::<Mfcc>(params)?),
        _ => return Err(DspDecodeError::Malformed),
    })
}

/// Writes `config` as a tag byte and postcard.
#[cfg(feature = "alloc")]
pub fn encode(config: &DspConfig) -> alloc::vec::Vec<u8> {
    let (tag, params) = match config {
        DspConfig::Raw(block) => (RAW, postcard::to_allocvec(block)),
        DspConfig::Flatten(block) => (FLATTEN, postcard::to_allocvec(block)),
        DspConfig::Spectral(block) => (SPECTRAL, postcard::to_allocvec(block)),
        DspConfig::Mfe(block) => (MFE, postcard::to_allocvec(block)),
        DspConfig::Mfcc(block) => (MFCC, postcard::to_allocvec(block)),
    };
    let mut out = alloc::vec![tag];
    // Serializing plain parameter structs into a Vec cannot fail.
    out.extend(params.unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_round_trips() {
        let configs = [
            DspConfig::Raw(Raw::default()),
            DspConfig::Flatten(Flatten::default()),
            DspConfig::Spectral(Spectral::default()),
            DspConfig::Mfe(Mfe::default()),
            DspConfig::Mfcc(Mfcc::default()),
        ];
        for config in configs {
            let bytes = encode(&config);
            assert_eq!(decode(&bytes), Ok(config.clone()), "{}", config.name());
            assert_eq!(
                decode(&bytes[..bytes.len() - 1]),
                Err(DspDecodeError::Malformed),
                "cut {}",
                config.name()
            );
        }
        assert_eq!(decode(&[9]), Err(DspDecodeError::Malformed));
        assert_eq!(decode(&[]), Err(DspDecodeError::Malformed));
    }
}
