//! This process's own attributes.

/// Sets the file mode creation mask (the previous mask is of no interest).
pub fn set_umask(mask: u32) {
    // SAFETY: umask cannot fail; it only replaces this process's mask.
    unsafe { libc::umask(mask as libc::mode_t) };
}
