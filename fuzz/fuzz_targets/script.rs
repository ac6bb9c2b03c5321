//! A structured input: a script of up to 16 JSON-RPC messages of both generations built from
//! known methods, tools, params and `_meta` (task ids and server requests taken from earlier
//! answers), on a fresh session, initialized or not. Never panics; every answer fits its
//! message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskward_fuzz::script::{self, Step};
use taskward_fuzz::{harness, let_time_pass, open};

fuzz_target!(|input: (bool, Vec<Step>)| {
    let (initialized, steps) = input;
    let h = harness();
    h.rt.block_on(async {
        let (session, mut pushed) = open(&h.server, initialized).await;
        script::run(&h.server, &session, &mut pushed, &steps).await;
        h.server.close_session(session.id()).await;
        let_time_pass().await;
    });
});
