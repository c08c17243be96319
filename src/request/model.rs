//! The request model: everything a WSGI request needs from httpd, as plain bytes. Collected once in the httpd
//! child (`collect`), turned into the environ there in embedded mode, or encoded by the daemon protocol and
//! turned into the same environ in a daemon process. Pure data, no httpd types.
#![deny(unsafe_code)]

/// Name/value byte pairs kept in one buffer: a whole environ costs two allocations, not two per variable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Environ {
    data: Vec<u8>,
    /// (key start, key end = value start, value end) into `data`.
    spans: Vec<[u32; 3]>,
}

impl Environ {
    pub fn with_capacity(pairs: usize, bytes: usize) -> Environ {
        Environ {
            data: Vec::with_capacity(bytes),
            spans: Vec::with_capacity(pairs),
        }
    }

    pub fn push(&mut self, k: &[u8], v: &[u8]) {
        let a = self.data.len() as u32;
        self.data.extend_from_slice(k);
        let b = self.data.len() as u32;
        self.data.extend_from_slice(v);
        self.spans.push([a, b, self.data.len() as u32]);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans.iter().map(|[a, b, c]| {
            (
                &self.data[*a as usize..*b as usize],
                &self.data[*b as usize..*c as usize],
            )
        })
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Replaces the value of `k` (or adds it).
    pub fn set(&mut self, k: &[u8], v: &[u8]) {
        self.remove(k);
        self.push(k, v);
    }

    /// Drops `k` (its bytes stay in the buffer until the environ is dropped).
    pub fn remove(&mut self, k: &[u8]) {
        let data = &self.data;
        self.spans.retain(|[a, b, _]| &data[*a as usize..*b as usize] != k);
    }

    pub fn get(&self, k: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(key, _)| *key == k).map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
/// One request: the script to run, how, and the environ's string pairs.
pub struct RequestHead {
    pub script: Vec<u8>,
    pub mtime: i64,
    pub callable: Vec<u8>,
    pub application_group: Vec<u8>,
    pub process_group: Vec<u8>,
    pub script_reloading: bool,
    pub header_only: bool,
    /// Daemon mode: the whole (small) body follows the request unasked, as the frames that would answer the
    /// daemon's reads (set by the httpd child when it sends the request).
    pub body_pushed: bool,
    /// When the request arrived at httpd, microseconds since the epoch (for queue-timeout).
    pub start_us: i64,
    /// When the httpd child handed the request to a daemon process (0: embedded mode).
    pub queue_start_us: i64,
    /// When the daemon process read it (set there; 0: embedded mode; never sent).
    pub daemon_start_us: i64,
    /// WSGIPassApacheRequest in embedded mode: the request_rec's address for environ['apache.request_rec']
    /// (0: not passed; never sent to a daemon).
    pub apache_request: usize,
    pub environ: Environ,
}
