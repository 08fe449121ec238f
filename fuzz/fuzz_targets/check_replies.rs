//! Fuzzes what hostile real servers send a health check: HTTP responses
//! (status line, headers, Content-Length, body, digest), DNS answers, UDP
//! replies, SMTP_CHECK replies (arriving in chunks of any size), and the
//! text of a FILE_CHECK / track_file. The first byte picks the parser.
//! Nothing may panic; an HTTP verdict needs a status line; the SMTP reader
//! only ever shrinks what it holds.
#![no_main]

use keepalived_check::probe::{dns, http, smtp, udp};
use keepalived_check::{file, UdpSpec, UrlSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            let url = UrlSpec {
            regex: None,
                path: "/".into(),
                digest: http::parse_digest("5d41402abc4b2a76b9719d911017c592"),
                ..Default::default()
            };
            let parsed = http::parse_response(rest);
            let _ = http::judge(rest, &url);
            if let Some((_, clen, got)) = parsed {
                assert!(got <= rest.len());
                let _ = clen;
            }
        }
        1 => {
            let id = u16::from_be_bytes([rest.first().copied().unwrap_or(0), 7]);
            let _ = dns::judge(rest, id);
        }
        2 => {
            let spec = UdpSpec {
                payload: b"ping".to_vec(),
                require_reply: Some((b"pong".to_vec(), vec![0xff; 4])),
                min_reply_len: 2,
                max_reply_len: 255,
            };
            let _ = udp::reply_ok(&spec, rest);
            let _ = udp::parse_hex(&String::from_utf8_lossy(rest));
        }
        3 => {
            let chunk = usize::from(which >> 3) + 1;
            let mut buf = Vec::new();
            for c in rest.chunks(chunk) {
                buf.extend_from_slice(c);
                let before = buf.len();
                while let Some(code) = smtp::take_reply(&mut buf) {
                    assert!(buf.len() < before);
                    let _ = code;
                }
            }
        }
        _ => {
            let v = file::strtol(&String::from_utf8_lossy(rest));
            let _ = file::status(v, i32::from(which), which & 1 == 1);
        }
    }
});
