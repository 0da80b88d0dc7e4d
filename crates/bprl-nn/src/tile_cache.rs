//! [`TileCache`]: the scratch tiles of the fused passes, owned by the caller.

use crate::fused::MlpTile;
use crate::mlp::Mlp;
use crate::scalar::Scalar;
use std::sync::{Mutex, PoisonError};

/// Tiles a slot keeps for reuse (a learner's passes use three or four tile shapes).
const TILES_PER_SLOT: usize = 8;

/// Scratch tiles for the fused passes, created and owned by the caller and lent to each pass
/// that needs tiles (as `regex-automata`'s `Cache` is lent to its searches).
///
/// A batched pass splits its tiles over threads ([`crate::parallel::map_ranges_indexed`]); the
/// range with index `k` takes its [`MlpTile`] from slot `k` and puts it back when done, so a
/// learner that calls the same passes every update reuses the same buffers, warm in cache,
/// instead of allocating (and page-faulting) them per call. There is one slot per thread of
/// [`crate::parallel::num_threads`]; a slot's lock is held only while a tile is taken or put.
///
/// Results never depend on the cache: every buffer of a tile is written before it is read, so
/// a fresh tile and a reused one give the same bits. Sharing one cache between calls on
/// several threads at once is safe (a slot that is empty hands out a fresh tile).
///
/// `Clone` gives an *empty* cache: scratch space is not state, so a cloned learner starts with
/// its own.
///
/// # Example
///
/// ```
/// use bprl_nn::{Mlp, TileCache, TileInput};
/// use ndarray::Array2;
/// use rand::{SeedableRng, rngs::StdRng};
///
/// let net = Mlp::<f32>::layer_norm_mlp(4, &[8, 2], false, &mut StdRng::seed_from_u64(0));
/// let tiles = TileCache::new();
/// let x = Array2::from_elem((16, 4), 0.5f32);
/// let mut tile = tiles.take(0, &net, 16);
/// net.forward_tile(&mut tile, &TileInput::Rows(x.view()))?;
/// assert_eq!(tile.output().dim(), (16, 2));
/// tiles.put(0, tile);
/// assert_eq!(tiles.len(), 1);
/// # Ok::<(), bprl_nn::NnError>(())
/// ```
pub struct TileCache<F> {
    slots: Box<[Mutex<Vec<MlpTile<F>>>]>,
}

impl<F> TileCache<F> {
    /// An empty cache with one slot per thread of [`crate::parallel::num_threads`].
    pub fn new() -> Self {
        Self {
            slots: (0..bprl_compute::parallel::num_threads())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        }
    }
}

impl<F: Scalar> TileCache<F> {
    /// A tile for `net` with room for `capacity` rows: one that slot `slot` holds and that fits,
    /// else a new one ([`MlpTile::new`]). A slot past the last gives a new tile.
    pub fn take(&self, slot: usize, net: &Mlp<F>, capacity: usize) -> MlpTile<F> {
        let cached = self.slots.get(slot).and_then(|s| {
            let mut tiles = s.lock().unwrap_or_else(PoisonError::into_inner);
            let pos = tiles.iter().position(|t| t.fits(net, capacity))?;
            Some(tiles.remove(pos))
        });
        cached.unwrap_or_else(|| MlpTile::new(net, capacity))
    }
}

impl<F> TileCache<F> {
    /// Gives a tile back to slot `slot` for a later [`TileCache::take`]. A slot keeps the most
    /// recent few tiles; a slot past the last drops the tile.
    pub fn put(&self, slot: usize, tile: MlpTile<F>) {
        if let Some(s) = self.slots.get(slot) {
            let mut tiles = s.lock().unwrap_or_else(PoisonError::into_inner);
            if tiles.len() >= TILES_PER_SLOT {
                tiles.remove(0);
            }
            tiles.push(tile);
        }
    }

    /// Tiles held, over all slots.
    pub fn len(&self) -> usize {
        self.slots
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no slot holds a tile.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every tile held (the memory goes back to the allocator).
    pub fn clear(&self) {
        for s in &self.slots {
            s.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
}

impl<F> Default for TileCache<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// An empty cache: scratch space is not copied (see the type's documentation).
impl<F> Clone for TileCache<F> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<F> std::fmt::Debug for TileCache<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileCache")
            .field("slots", &self.slots.len())
            .field("tiles", &self.len())
            .finish()
    }
}
