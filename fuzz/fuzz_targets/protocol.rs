//! Fuzzes the daemon protocol decoder: any bytes must decode, ask for more, or fail cleanly — never panic — and
//! whatever decodes must re-encode to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/request/model.rs"]
mod request_model;
/// protocol.rs encodes the request model of `crate::request`.
mod request {
    pub use crate::request_model::{Environ, RequestHead};
}
#[path = "../../src/daemon/protocol.rs"]
#[allow(dead_code)]
mod protocol;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((frame, used))) = protocol::decode(rest) {
        let mut again = Vec::new();
        if protocol::encode(&frame, &mut again).is_ok() {
            let back = protocol::decode(&again).ok().flatten().map(|(f, _)| f);
            assert_eq!(back, Some(frame));
        }
        rest = &rest[used..];
    }
});
