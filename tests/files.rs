//! Issue 3: wsgi.file_wrapper — regular files via a file bucket with Content-Length from size - tell(), other
//! file-likes iterated with read(blksize), close() called; the in-process mod_wsgi module.

use rwsgi_testkit as kit;

use kit::ServerBuilder;

fn data() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i.wrapping_mul(7919) >> 3) as u8).collect()
}

#[test]
fn file_wrapper() {
    let b = ServerBuilder::new("files").conf("WSGIScriptAlias /f {apps}/files.wsgi\nEnableSendfile On");
    std::fs::write(b.apps().join("data.bin"), data()).expect("write data file");
    let s = b.start();
    let d = data();

    let r = s.get("/f/file");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Length"),
        Some("3000000"),
        "Content-Length from the file size"
    );
    assert!(r.complete && r.body == d);

    let r = s.get("/f/file?1000");
    assert_eq!(r.header("Content-Length"), Some("2999000"), "size - tell()");
    assert!(r.body == d[1000..]);

    let r = s.get("/f/file-cl");
    assert_eq!(r.header("Content-Length"), Some("1000"));
    assert!(
        r.complete && r.body == d[..1000],
        "the app's Content-Length limits the file"
    );

    let r = s.get("/f/bytesio");
    assert_eq!(r.body.len(), 10_000);
    assert!(r.text().starts_with("0123456789"));
    assert!(s.wait_log("BytesIO closed", 5), "close() called on the file-like");

    let r = s.get("/f/is-modwsgi");
    assert_eq!(r.text(), "(True, (6, 1, 0), '', '', True)");
}
