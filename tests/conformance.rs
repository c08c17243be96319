//! Issue 3: wsgiref.validate sees no PEP 3333 violation; 32 parallel clients x 50 requests are all correct;
//! threading.local keeps its value across requests on the same thread.

use rwsgi_testkit as kit;

use std::collections::HashMap;
use std::io::{BufReader, Write};

use kit::ServerBuilder;
use kit::http::{connect, read_response};

#[test]
fn wsgiref_validator_sees_no_violation() {
    let s = ServerBuilder::new("validator")
        .conf("WSGIScriptAlias /v {apps}/validated.wsgi\nWSGIChunkedRequest On")
        .start();
    let r = s.get("/v/get");
    assert_eq!((r.status, r.text().as_str()), (200, "ok:GET"), "{}", s.error_log());
    let r = s.post("/v/post", "text/plain", b"payload");
    assert_eq!((r.status, r.text().as_str()), (200, "got:payload"));
    let r = s.request(b"HEAD /v/get HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    let r = s.request(b"POST /v/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nab\ncd\r\n3\r\nef\n\r\n0\r\n\r\n");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "lines:2:ab\ncdef\n"),
        "{}",
        s.error_log()
    );
    let r = s.get("/v/file");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("wsgiref.validate"));
    let log = s.error_log();
    assert!(
        !log.contains("AssertionError") && !log.contains("Warning"),
        "validator complaints:\n{log}"
    );
}

#[test]
fn parallel_clients_all_correct_and_thread_locals_persist() {
    let s = ServerBuilder::new("parallel")
        .mpm("event", 2, 8)
        .conf("WSGIScriptAlias /t {apps}/threads.wsgi")
        .start();
    let port = s.port;
    let handles: Vec<_> = (0..32)
        .map(|client| {
            std::thread::spawn(move || {
                // Keep-alive connection per client: 50 requests in sequence.
                let mut seen = Vec::new();
                let mut conn = BufReader::new(connect(port));
                for i in 0..50 {
                    let token = format!("c{client}r{i}");
                    let req = format!("GET /t/p{client}?{token} HTTP/1.1\r\nHost: x\r\n\r\n");
                    if conn.get_mut().write_all(req.as_bytes()).is_err() {
                        conn = BufReader::new(connect(port));
                        conn.get_mut().write_all(req.as_bytes()).expect("resend");
                    }
                    let r = match read_response(&mut conn, false) {
                        Ok(r) if r.status != 0 => r,
                        _ => {
                            // The server closed an idle keep-alive connection: retry on a new one.
                            conn = BufReader::new(connect(port));
                            conn.get_mut().write_all(req.as_bytes()).expect("resend");
                            read_response(&mut conn, false).expect("response")
                        }
                    };
                    assert_eq!(r.status, 200);
                    let text = r.text();
                    let parts: Vec<&str> = text.split(' ').collect();
                    assert_eq!(parts.len(), 4, "{text}");
                    assert_eq!(parts[2], token, "response belongs to this request");
                    assert_eq!(parts[3], format!("/p{client}"));
                    seen.push((parts[0].to_string(), parts[1].parse::<u64>().expect("count")));
                }
                seen
            })
        })
        .collect();
    let mut per_thread: HashMap<String, Vec<u64>> = HashMap::new();
    let mut total = 0;
    for h in handles {
        for (tid, count) in h.join().expect("client thread") {
            per_thread.entry(tid).or_default().push(count);
            total += 1;
        }
    }
    assert_eq!(total, 32 * 50);
    // Python thread idents repeat across the two processes only by chance; counts per ident must grow.
    let max_count = per_thread.values().flat_map(|v| v.iter()).max().copied().unwrap_or(0);
    assert!(
        max_count > 50,
        "threading.local must survive across requests (max count {max_count})"
    );
    assert!(!s.error_log().contains("exit signal"));
}
