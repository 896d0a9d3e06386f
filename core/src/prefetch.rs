//! Cache-line prefetch hints for reads whose addresses are known ahead.

/// Asks the CPU to start loading the cache line that holds `bytes[pos]`
/// into the cache, without waiting for it. Nothing happens where `pos` is
/// out of bounds or the target has no such hint (and under miri).
#[inline(always)]
pub(crate) fn prefetch(bytes: &[u8], pos: usize) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if let Some(byte) = bytes.get(pos) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing into the program and changes no
        // memory; the pointer is to a byte of `bytes`, valid besides.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(core::ptr::from_ref(byte).cast()) };
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = (bytes, pos);
}
