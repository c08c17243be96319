//! Counters in memory shared by every process of the server: an anonymous shared mapping made by the httpd parent
//! before it forks its children and the daemon processes, so that all of them count into it and any of them can
//! read all of it. The mapping is never unmapped: it lives as long as the httpd parent (across restarts, which
//! find it again by its address).

use std::sync::atomic::AtomicU64;

/// `len` 64-bit atomic cells, zeroed when made.
#[derive(Clone, Copy)]
pub struct Cells {
    base: *const AtomicU64,
    len: usize,
}

// SAFETY: the cells are atomics in memory that stays mapped for the life of the process; sharing them between
// threads is what they are for.
unsafe impl Send for Cells {}
// SAFETY: as above.
unsafe impl Sync for Cells {}

impl std::fmt::Debug for Cells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cells({:p}, {})", self.base, self.len)
    }
}

impl Cells {
    /// A new shared mapping of `len` cells (MAP_SHARED | MAP_ANONYMOUS: inherited by every process forked later).
    pub fn map(len: usize) -> std::io::Result<Cells> {
        let bytes = len.max(1) * std::mem::size_of::<u64>();
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Cells {
            base: p.cast::<AtomicU64>().cast_const(),
            len,
        })
    }

    /// The cells made by `map` earlier in this process's life at `addr` (found again after a restart): None
    /// unless /proc/self/maps shows a shared read-write mapping of exactly that place and size there.
    pub fn reattach(addr: usize, len: usize) -> Option<Cells> {
        let bytes = len.max(1) * std::mem::size_of::<u64>();
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let found = maps.lines().any(|l| {
            let mut f = l.split_whitespace();
            let (Some(range), Some(perms)) = (f.next(), f.next()) else {
                return false;
            };
            let Some((a, b)) = range.split_once('-') else {
                return false;
            };
            let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else {
                return false;
            };
            a == addr && b - a >= bytes && perms == "rw-s"
        });
        found.then_some(Cells {
            base: addr as *const AtomicU64,
            len,
        })
    }

    pub fn addr(&self) -> usize {
        self.base as usize
    }

    pub fn cells(&self) -> usize {
        self.len
    }

    /// Cell `i`; out of range: a cell nobody reads (a layout mistake must not write elsewhere).
    pub fn get(&self, i: usize) -> &AtomicU64 {
        static SPARE: AtomicU64 = AtomicU64::new(0);
        if i >= self.len {
            return &SPARE;
        }
        // SAFETY: i < len, and the mapping holds len cells for the life of the process.
        unsafe { &*self.base.add(i) }
    }
}

/// Whether process `pid` exists (a slot whose owner died may be taken over).
pub fn alive(pid: u64) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
