//! Versioned frames and fragmentation.
//!
//! A datagram is `b"KR" | version u8 | flags u8 | total u32 LE | bytes`.
//! `total` is the length of the whole message and is repeated in every
//! fragment, so the receiver can refuse an oversized message at its first
//! fragment, before buffering anything. Flag bit 0 says more fragments follow.

use crate::PROTOCOL_VERSION;
use std::fmt;

pub const MAGIC: [u8; 2] = *b"KR";
pub const HEADER_LEN: usize = 8;
const FLAG_MORE: u8 = 1;

/// Payload bytes per datagram: well under the ~212 KB SEQPACKET limit of a
/// default socket buffer.
pub const FRAGMENT_PAYLOAD: usize = 64 * 1024;

/// Why a datagram could not be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    Short(usize),
    BadMagic,
    Version(u8),
    BadFlags(u8),
    TooLarge { total: usize, limit: usize },
    Inconsistent,
    Empty,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Short(n) => {
                write!(f, "datagram of {n} bytes is shorter than a frame header")
            }
            FrameError::BadMagic => write!(f, "bad frame magic"),
            FrameError::Version(v) => {
                write!(f, "protocol version {v}, expected {PROTOCOL_VERSION}")
            }
            FrameError::BadFlags(b) => write!(f, "unknown frame flags {b:#x}"),
            FrameError::TooLarge { total, limit } => {
                write!(f, "message of {total} bytes exceeds the limit of {limit}")
            }
            FrameError::Inconsistent => write!(f, "fragments disagree on the message length"),
            FrameError::Empty => write!(f, "empty fragment"),
        }
    }
}

/// Split an encoded message into datagrams.
pub fn fragment(message: &[u8]) -> Vec<Vec<u8>> {
    let total = message.len() as u32;
    let chunks: Vec<&[u8]> = if message.is_empty() {
        vec![&[][..]]
    } else {
        message.chunks(FRAGMENT_PAYLOAD).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut d = Vec::with_capacity(HEADER_LEN + chunk.len());
            d.extend_from_slice(&MAGIC);
            d.push(PROTOCOL_VERSION);
            d.push(if i == last { 0 } else { FLAG_MORE });
            d.extend_from_slice(&total.to_le_bytes());
            d.extend_from_slice(chunk);
            d
        })
        .collect()
}

/// Collects fragments into whole messages, refusing anything over `limit`.
#[derive(Debug)]
pub struct Reassembler {
    limit: usize,
    buf: Vec<u8>,
    expected: Option<usize>,
}

impl Reassembler {
    pub fn new(limit: usize) -> Self {
        Reassembler {
            limit,
            buf: Vec::new(),
            expected: None,
        }
    }

    /// Feed one datagram; returns a whole message when its last fragment arrives.
    pub fn push(&mut self, datagram: &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        let result = self.push_inner(datagram);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn push_inner(&mut self, d: &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        if d.len() < HEADER_LEN {
            return Err(FrameError::Short(d.len()));
        }
        if d[0..2] != MAGIC {
            return Err(FrameError::BadMagic);
        }
        if d[2] != PROTOCOL_VERSION {
            return Err(FrameError::Version(d[2]));
        }
        let flags = d[3];
        if flags & !FLAG_MORE != 0 {
            return Err(FrameError::BadFlags(flags));
        }
        let total = u32::from_le_bytes([d[4], d[5], d[6], d[7]]) as usize;
        if total > self.limit {
            return Err(FrameError::TooLarge {
                total,
                limit: self.limit,
            });
        }
        let payload = &d[HEADER_LEN..];
        match self.expected {
            None => {
                self.expected = Some(total);
                self.buf = Vec::with_capacity(total.min(FRAGMENT_PAYLOAD * 4));
            }
            Some(t) if t != total => return Err(FrameError::Inconsistent),
            Some(_) => {}
        }
        if payload.is_empty() && (flags & FLAG_MORE != 0 || total != 0) {
            return Err(FrameError::Empty);
        }
        if self.buf.len() + payload.len() > total {
            return Err(FrameError::Inconsistent);
        }
        self.buf.extend_from_slice(payload);
        if flags & FLAG_MORE != 0 {
            return Ok(None);
        }
        if self.buf.len() != total {
            return Err(FrameError::Inconsistent);
        }
        self.expected = None;
        Ok(Some(std::mem::take(&mut self.buf)))
    }

    fn reset(&mut self) {
        self.buf = Vec::new();
        self.expected = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) {
        let msg: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut r = Reassembler::new(1 << 24);
        let frags = fragment(&msg);
        assert_eq!(frags.len(), len.div_ceil(FRAGMENT_PAYLOAD).max(1));
        let mut out = None;
        for (i, f) in frags.iter().enumerate() {
            let got = r.push(f).unwrap();
            if i + 1 < frags.len() {
                assert!(got.is_none());
            } else {
                out = got;
            }
        }
        assert_eq!(out.unwrap(), msg);
    }

    #[test]
    fn fragments_reassemble() {
        for len in [
            0,
            1,
            FRAGMENT_PAYLOAD - 1,
            FRAGMENT_PAYLOAD,
            FRAGMENT_PAYLOAD + 1,
            5_000_000,
        ] {
            roundtrip(len);
        }
    }

    #[test]
    fn oversized_refused_at_first_fragment() {
        let mut r = Reassembler::new(100);
        let frags = fragment(&[0u8; 1000]);
        assert_eq!(
            r.push(&frags[0]),
            Err(FrameError::TooLarge {
                total: 1000,
                limit: 100
            })
        );
    }

    #[test]
    fn garbage_refused() {
        let mut r = Reassembler::new(100);
        assert_eq!(r.push(b"abc"), Err(FrameError::Short(3)));
        assert_eq!(r.push(b"XXXXXXXXXX"), Err(FrameError::BadMagic));
        assert_eq!(
            r.push(&[b'K', b'R', 9, 0, 0, 0, 0, 0]),
            Err(FrameError::Version(9))
        );
        assert_eq!(
            r.push(&[b'K', b'R', PROTOCOL_VERSION, 0x80, 0, 0, 0, 0]),
            Err(FrameError::BadFlags(0x80))
        );
        // a last fragment shorter than announced
        assert_eq!(
            r.push(&[b'K', b'R', PROTOCOL_VERSION, 0, 5, 0, 0, 0, 1]),
            Err(FrameError::Inconsistent)
        );
        // the reassembler recovers after an error
        let ok = fragment(b"hello");
        assert_eq!(r.push(&ok[0]).unwrap().unwrap(), b"hello");
    }

    #[test]
    fn fragments_must_agree() {
        let mut r = Reassembler::new(1 << 24);
        let a = fragment(&vec![1u8; FRAGMENT_PAYLOAD * 2]);
        let b = fragment(&vec![1u8; FRAGMENT_PAYLOAD * 3]);
        assert!(r.push(&a[0]).unwrap().is_none());
        assert_eq!(r.push(&b[1]), Err(FrameError::Inconsistent));
    }
}
