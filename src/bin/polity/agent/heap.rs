//! What the agent's allocator holds, for `/v1/metrics`: the bytes in live allocations
//! and the bytes of memory it keeps resident. The two apart tell a leak (live bytes
//! grow) from memory the allocator keeps for reuse or for its own bookkeeping.

/// The allocator's figures, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Heap {
    /// Bytes in live allocations.
    pub allocated: u64,
    /// Bytes in physical pages the allocator holds: live allocations, its metadata, and
    /// freed pages not yet given back.
    pub resident: u64,
}

impl Heap {
    /// The figures now, or `None` if the allocator does not give them.
    pub fn read() -> Option<Heap> {
        use tikv_jemalloc_ctl::{epoch, stats};
        // The figures are cached until the epoch moves.
        epoch::advance().ok()?;
        Some(Heap {
            allocated: stats::allocated::read().ok()? as u64,
            resident: stats::resident::read().ok()? as u64,
        })
    }
}
