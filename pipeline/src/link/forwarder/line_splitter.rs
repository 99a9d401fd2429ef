//! Splits the serial byte stream into lines, whatever the chunk boundaries, with bounded memory.

/// Longest line content (`\r\n` or `\n` not counted) taken as a reading; longer lines are garbage.
pub const MAX_LINE_BYTES: usize = 1024;

/// How many bytes of an over-long line are kept so it can be shown as an example.
const TOO_LONG_PREFIX_BYTES: usize = 64;

/// One line as it came off the wire, terminator removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawLine {
    /// A line of at most [`MAX_LINE_BYTES`] bytes. The bytes may not be UTF-8.
    Complete(Vec<u8>),
    /// A line longer than [`MAX_LINE_BYTES`]: only its first bytes and its length are kept.
    TooLong { prefix: Vec<u8>, byte_count: usize },
}

/// Accumulates bytes that arrive in chunks of any size and hands out complete lines.
///
/// A line ends at `\n`; one `\r` right before it is removed too. Memory stays bounded: once a
/// line outgrows [`MAX_LINE_BYTES`] the splitter only counts its bytes until the next `\n`.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buffer: Vec<u8>,
    /// Bytes of the current line counted so far once it is known to be too long.
    overflow_byte_count: Option<usize>,
    /// Whether the last byte counted in overflow was `\r` (not part of the line if `\n` follows).
    overflow_ends_with_carriage_return: bool,
}

impl LineSplitter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds `bytes` and appends every line they complete to `lines`.
    pub(crate) fn push(&mut self, bytes: &[u8], lines: &mut Vec<RawLine>) {
        for &byte in bytes {
            if byte == b'\n' {
                lines.push(self.finish_line());
                continue;
            }
            match self.overflow_byte_count.as_mut() {
                Some(byte_count) => {
                    *byte_count += 1;
                    self.overflow_ends_with_carriage_return = byte == b'\r';
                }
                None => {
                    self.buffer.push(byte);
                    // One extra byte is allowed for a `\r` that the `\n` will strip.
                    if self.buffer.len() > MAX_LINE_BYTES + 1 {
                        self.overflow_byte_count = Some(self.buffer.len());
                        self.overflow_ends_with_carriage_return = byte == b'\r';
                        self.buffer.truncate(TOO_LONG_PREFIX_BYTES);
                    }
                }
            }
        }
    }

    /// Takes the bytes after the last `\n`, if any: the port is gone, so no `\n` will come.
    pub(crate) fn take_partial_line(&mut self) -> Option<RawLine> {
        if self.buffer.is_empty() && self.overflow_byte_count.is_none() {
            return None;
        }
        Some(self.finish_line())
    }

    fn finish_line(&mut self) -> RawLine {
        let mut content = std::mem::take(&mut self.buffer);
        let overflow_byte_count = self.overflow_byte_count.take().map(|byte_count| {
            let ends_with_carriage_return = std::mem::take(&mut self.overflow_ends_with_carriage_return);
            byte_count - usize::from(ends_with_carriage_return)
        });
        if content.last() == Some(&b'\r') && overflow_byte_count.is_none() {
            content.pop();
        }
        match overflow_byte_count {
            Some(byte_count) => RawLine::TooLong { prefix: content, byte_count },
            None if content.len() > MAX_LINE_BYTES => {
                let byte_count = content.len();
                content.truncate(TOO_LONG_PREFIX_BYTES);
                RawLine::TooLong { prefix: content, byte_count }
            }
            None => RawLine::Complete(content),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in_chunks(input: &[u8], chunk_size: usize) -> Vec<RawLine> {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        for chunk in input.chunks(chunk_size) {
            splitter.push(chunk, &mut lines);
        }
        lines
    }

    fn complete(text: &[u8]) -> RawLine {
        RawLine::Complete(text.to_vec())
    }

    #[test]
    fn splits_lines_whatever_the_chunk_size() {
        let input = b"1,2,3\n4\t5\t6\r\n\n7 8 9\r\n";
        let expected = vec![complete(b"1,2,3"), complete(b"4\t5\t6"), complete(b""), complete(b"7 8 9")];
        for chunk_size in 1..=input.len() {
            assert_eq!(split_in_chunks(input, chunk_size), expected, "chunk size {chunk_size}");
        }
    }

    #[test]
    fn keeps_invalid_utf8_bytes() {
        assert_eq!(split_in_chunks(b"\xff\xfe,1\n", 2), vec![complete(b"\xff\xfe,1")]);
    }

    #[test]
    fn only_one_trailing_carriage_return_is_removed() {
        assert_eq!(split_in_chunks(b"1\r\r\n", 3), vec![complete(b"1\r")]);
    }

    #[test]
    fn line_of_exactly_the_limit_is_complete() {
        let mut input = vec![b'1'; MAX_LINE_BYTES];
        input.extend_from_slice(b"\r\n");
        let lines = split_in_chunks(&input, 7);
        assert_eq!(lines, vec![RawLine::Complete(vec![b'1'; MAX_LINE_BYTES])]);
    }

    #[test]
    fn over_long_lines_are_cut_and_measured() {
        for content_len in [MAX_LINE_BYTES + 1, MAX_LINE_BYTES + 2, 5000] {
            for terminator in [&b"\n"[..], &b"\r\n"[..]] {
                for chunk_size in [1, 100, 8192] {
                    let mut input = vec![b'7'; content_len];
                    input.extend_from_slice(terminator);
                    input.extend_from_slice(b"1,2\n");
                    let lines = split_in_chunks(&input, chunk_size);
                    let expected = [
                        RawLine::TooLong {
                            prefix: vec![b'7'; TOO_LONG_PREFIX_BYTES],
                            byte_count: content_len,
                        },
                        complete(b"1,2"),
                    ];
                    assert_eq!(
                        lines, expected,
                        "{content_len} bytes, {terminator:?}, chunks of {chunk_size}"
                    );
                }
            }
        }
    }

    #[test]
    fn partial_line_is_handed_out_once() {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        splitter.push(b"1,2\n3,", &mut lines);
        assert_eq!(lines, vec![complete(b"1,2")]);
        assert_eq!(splitter.take_partial_line(), Some(complete(b"3,")));
        assert_eq!(splitter.take_partial_line(), None);
    }
}
