//! What a WSGI request needs from httpd, collected once and the same in both modes: the model (`RequestHead`,
//! `Environ`: plain data, encoded by the daemon protocol) and its collection from a `request_rec`.
#![deny(unsafe_code)]

mod model;
pub mod proxy;
pub use model::{Environ, RequestHead};

#[cfg(not(test))]
mod collect;
#[cfg(not(test))]
pub use collect::{application_group, collect, hook_vars};

/// Now, in microseconds since the epoch (the unit of the request's timestamps).
pub fn epoch_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// `n` in decimal, written into `buf`.
pub fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_writes_every_digit() {
        let mut buf = [0u8; 10];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(7, &mut buf), b"7");
        assert_eq!(decimal(40213, &mut buf), b"40213");
        assert_eq!(decimal(u32::MAX, &mut buf), b"4294967295");
    }
}
