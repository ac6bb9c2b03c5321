//! Arbitrary bytes as one JSON-RPC message, to a 2025-11-25 session (initialized or not) or
//! as a stateless 2026-07-28 request: parse and dispatch must never panic, and the answer
//! must fit the message (see `check_answer`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskward_fuzz::{PATIENCE, check_answer, harness, let_time_pass, open};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let h = harness();
    h.rt.block_on(async {
        let (session, _pushed) = open(&h.server, mode & 1 == 1).await;
        let answer = tokio::time::timeout(PATIENCE, h.server.handle_bytes(&session, bytes)).await;
        if let Ok(answer) = answer {
            check_answer(bytes, answer.as_ref());
        }
        h.server.close_session(session.id()).await;
        let_time_pass().await;
    });
});
