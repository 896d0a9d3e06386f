//! Cache-line prefetch hints for reads whose addresses are known ahead.

/// Starts loading the cache line that holds `bytes[pos]` without waiting
/// for it. On x86-64 this is a prefetch hint (`prefetcht0`), which retires
/// at once and so holds up nothing; elsewhere (wasm, other targets, miri)
/// a plain load of that byte, whose miss can still overlap later work.
/// Nothing happens where `pos` is out of bounds.
#[inline(always)]
fn prefetch(bytes: &[u8], pos: usize) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if let Some(byte) = bytes.get(pos) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing into the program and changes no
        // memory; the pointer is to a byte of `bytes`, valid besides.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(core::ptr::from_ref(byte).cast()) };
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    core::hint::black_box(bytes.get(pos).copied());
}

/// [`prefetch`] for every cache line that `bytes[pos..pos + len]` touches
/// (where it lies in `bytes`).
#[inline(always)]
pub(crate) fn prefetch_span(bytes: &[u8], pos: usize, len: usize) {
    /// Bytes of a cache line.
    const LINE: usize = 64;
    let Some(last) = pos.checked_add(len).and_then(|end| end.checked_sub(1)) else {
        return;
    };
    let mut at = pos;
    while at < last {
        prefetch(bytes, at);
        at = at.saturating_add(LINE);
    }
    prefetch(bytes, last);
}
