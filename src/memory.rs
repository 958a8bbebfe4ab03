//! Giving freed memory back to the system.

/// Give the heap's free pages back to the system. glibc keeps them
/// otherwise: a freed dictionary, or the buffers of a phrase resampled to
/// the output's rate, stay resident (docs/voice.md, "Where PocketSphinx's
/// memory went"). Walks glibc's free lists; call it after large buffers
/// were freed, not on a realtime thread.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
