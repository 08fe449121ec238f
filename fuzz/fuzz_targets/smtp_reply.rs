//! Fuzzes the SMTP alert exchange against whatever a mail server sends:
//! replies cut anywhere, continuation lines, garbage, floods. Nothing may
//! panic, and once the dialogue has failed or sent its message it asks
//! for nothing more.
#![no_main]

use keepalived_check::smtp_alert::{Alert, Dialogue, Step};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let alert = Alert {
        subject: "[fuzz] VRRP Instance VI_1 - Entering MASTER state".into(),
        body: "=> VRRP Instance is now owning VRRP VIPs <=".into(),
    };
    let to = vec!["a@example.org".to_string()];
    let mut d = Dialogue::new(
        "lb1",
        "ka@example.org",
        &to,
        &alert,
        "Thu, 01 Jan 1970 00:00:00 +0000",
    );
    // The first byte picks the chunk size: replies arrive split anywhere.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(n % 64) + 1;
    let mut finished = false;
    for c in rest.chunks(chunk) {
        let step = d.on_bytes(c);
        if finished {
            assert!(
                !matches!(step, Step::Send(_)),
                "asked to send after the end"
            );
        }
        if matches!(step, Step::Failed(_) | Step::Sent) {
            finished = true;
        }
    }
});
