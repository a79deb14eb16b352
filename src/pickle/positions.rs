//! Ascending file offsets in about a byte each (a lean graph's memo store offsets), and how
//! many of them lie below a bound.

/// One block's first offset, and where its narrow and wide gaps start: 16 bytes.
#[derive(Debug, Clone, Copy)]
struct Sample {
    pos: u64,
    /// The offsets the blocks before it lack to be full (each append leaves at most one
    /// short block), so that its gaps start at `b * (BLOCK - 1) - short`.
    short: u32,
    /// Its first wide gap in [`PosIndex::wide`] (a wide gap stands for 255 bytes or more of
    /// the file: fewer than 2^32 in any file).
    wide: u32,
}

/// Ascending file offsets in about a byte each: 8-bit gaps, with a sample at the start of
/// every block of up to [`PosIndex::BLOCK`] offsets to count from (a gap past 8 bits is kept
/// whole aside). Blocks are full but where two indexes were appended one to the other.
/// Two indexes are equal when they hold the same offsets, however they are blocked.
#[derive(Default)]
pub struct PosIndex {
    samples: Vec<Sample>,
    gaps: Vec<u8>,
    wide: Vec<u64>,
    last: u64,
    len: u64,
    /// Offsets the last block still takes.
    room: usize,
}

impl PosIndex {
    pub const BLOCK: usize = 64;

    /// Appends `pos` (not below the last one appended).
    #[inline(always)]
    pub fn push(&mut self, pos: u64) {
        let gap = pos.saturating_sub(self.last);
        // The common case in one test: room in the block, a gap that fits a byte.
        if gap < u64::from(u8::MAX) && self.room != 0 {
            self.gaps.push(gap as u8);
            self.room -= 1;
        } else {
            self.push_rare(pos, gap);
        }
        self.last = pos;
        self.len += 1;
    }

    /// [`PosIndex::push`] of a block's first offset or of a gap too wide for a byte.
    #[inline(never)]
    fn push_rare(&mut self, pos: u64, gap: u64) {
        if self.room == 0 {
            let short = self.short_before(self.samples.len(), self.gaps.len());
            self.samples.push(Sample {
                pos,
                short,
                wide: self.wide.len() as u32,
            });
            self.room = Self::BLOCK - 1;
        } else {
            self.gaps.push(u8::MAX);
            self.wide.push(gap);
            self.room -= 1;
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes room for `n` more offsets (a byte each, the common case), so that a long run
    /// of pushes or an [`PosIndex::append`] does not move what is held.
    pub fn reserve(&mut self, n: u64) {
        let n = usize::try_from(n).unwrap_or(0);
        self.gaps.reserve(n);
        self.samples.reserve(n / Self::BLOCK + 1);
    }

    /// Appends every offset of `other` (none below this index's last), moving its blocks
    /// whole: this index's last block stays as short as it is.
    pub fn append(&mut self, other: PosIndex) {
        if other.len == 0 {
            return;
        }
        let (blocks, gaps, wide) = (self.samples.len(), self.gaps.len(), self.wide.len());
        let short = self.short_before(blocks, gaps);
        self.samples.extend(other.samples.iter().map(|s| Sample {
            pos: s.pos,
            short: s.short + short,
            wide: s.wide + wide as u32,
        }));
        self.gaps.extend_from_slice(&other.gaps);
        self.wide.extend_from_slice(&other.wide);
        self.last = other.last;
        self.len += other.len;
        self.room = other.room;
    }

    /// [`Sample::short`] of a block `b` whose gaps start at `gap`.
    fn short_before(&self, b: usize, gap: usize) -> u32 {
        (b * (Self::BLOCK - 1)).saturating_sub(gap) as u32
    }

    /// Where block `b`'s gaps start in [`PosIndex::gaps`].
    fn block_start(&self, b: usize) -> usize {
        let short = self.samples.get(b).map_or(0, |s| s.short as usize);
        (b * (Self::BLOCK - 1)).saturating_sub(short)
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.samples.capacity() * std::mem::size_of::<Sample>()
            + self.gaps.capacity()
            + self.wide.capacity() * 8
    }

    /// The offsets, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.samples.len()).flat_map(move |b| {
            let s = self.samples[b];
            let mut wide = self.wide.get(s.wide as usize..).unwrap_or(&[]).iter();
            let mut pos = s.pos;
            let gaps = self
                .gaps
                .get(self.block_start(b)..self.block_end(b))
                .unwrap_or(&[]);
            std::iter::once(pos).chain(gaps.iter().map(move |&g| {
                pos += if g == u8::MAX {
                    wide.next().copied().unwrap_or(0)
                } else {
                    u64::from(g)
                };
                pos
            }))
        })
    }

    /// Where block `b`'s gaps end in [`PosIndex::gaps`].
    fn block_end(&self, b: usize) -> usize {
        if b + 1 < self.samples.len() {
            self.block_start(b + 1)
        } else {
            self.gaps.len()
        }
    }

    /// How many offsets are below `x`.
    pub fn count_below(&self, x: u64) -> usize {
        self.counter().count_below(x)
    }

    /// A [`PosCounter`] over this index.
    pub fn counter(&self) -> PosCounter<'_> {
        PosCounter {
            idx: self,
            at: None,
            last: 0,
        }
    }

    /// Steps over block `at.b`'s gaps from its `at.k`-th offset while the next offset is
    /// below `x`.
    fn scan(&self, mut at: BlockAt, x: u64) -> BlockAt {
        let first = self.block_start(at.b);
        let end = self.block_end(at.b);
        let mut gaps = self.gaps.get(first + at.k - 1..end).unwrap_or(&[]);
        // Eight narrow gaps at a time while all eight offsets stay below `x`.
        while let Some(eight) = gaps.first_chunk::<8>() {
            let w = u64::from_le_bytes(*eight);
            const ONES: u64 = 0x0101_0101_0101_0101;
            // A byte of 0xFF (a wide gap) makes `!w` hold a zero byte.
            if (!w).wrapping_sub(ONES) & w & (ONES << 7) != 0 {
                break;
            }
            // The eight bytes summed in four 16-bit lanes (at most 4 x 508), then folded.
            const EVEN: u64 = 0x00FF_00FF_00FF_00FF;
            let pairs = (w & EVEN) + ((w >> 8) & EVEN);
            let sum = pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48;
            if at.pos + sum >= x {
                break;
            }
            at.pos += sum;
            at.k += 8;
            gaps = &gaps[8..];
        }
        for &g in gaps {
            let wide = g == u8::MAX;
            let gap = if wide {
                self.wide.get(at.wide as usize).copied().unwrap_or(0)
            } else {
                u64::from(g)
            };
            if at.pos + gap >= x {
                break;
            }
            at.pos += gap;
            at.k += 1;
            at.wide += u32::from(wide);
        }
        at
    }
}

impl FromIterator<u64> for PosIndex {
    /// The index of ascending offsets.
    fn from_iter<I: IntoIterator<Item = u64>>(offsets: I) -> PosIndex {
        let mut idx = PosIndex::default();
        offsets.into_iter().for_each(|p| idx.push(p));
        idx
    }
}

impl PartialEq for PosIndex {
    fn eq(&self, other: &PosIndex) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for PosIndex {}

impl std::fmt::Debug for PosIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Where a count stopped: in block `b`, its `k`-th offset (from 1) `pos`, the next wide gap.
#[derive(Debug, Clone, Copy)]
struct BlockAt {
    b: usize,
    k: usize,
    pos: u64,
    wide: u32,
}

/// [`PosIndex::count_below`] of bounds that mostly ascend (the ends of sorted spans): a
/// bound in the block where the last count stopped goes on from there rather than from the
/// block's start; any other bound is looked up afresh.
#[derive(Debug)]
pub struct PosCounter<'a> {
    idx: &'a PosIndex,
    at: Option<BlockAt>,
    last: u64,
}

impl PosCounter<'_> {
    pub fn count_below(&mut self, x: u64) -> usize {
        let idx = self.idx;
        let resume = self
            .at
            .filter(|a| x >= self.last && idx.samples.get(a.b + 1).is_none_or(|s| s.pos >= x));
        let from = match resume {
            Some(a) => a,
            None => {
                let b = idx.samples.partition_point(|s| s.pos < x);
                let Some(s) = b.checked_sub(1).and_then(|b| idx.samples.get(b)) else {
                    self.at = None;
                    return 0;
                };
                BlockAt {
                    b: b - 1,
                    k: 1,
                    pos: s.pos,
                    wide: s.wide,
                }
            }
        };
        let at = idx.scan(from, x);
        self.at = Some(at);
        self.last = x;
        // The offsets before block `b`: its gaps' start, plus one sample per block.
        idx.block_start(at.b) + at.b + at.k
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::PosIndex;
    use crate::synth::Rng;

    fn idx_of(pos: &[u64]) -> PosIndex {
        pos.iter().copied().collect()
    }

    /// `n` ascending offsets from `start`, the `k`-th `gap(k)` past the one before.
    fn positions(n: u64, start: u64, mut gap: impl FnMut(u64) -> u64) -> Vec<u64> {
        let mut x = start;
        (0..n)
            .map(|k| {
                x += gap(k);
                x
            })
            .collect()
    }

    /// Every offset probed, one below and one above, and the extremes.
    fn probes(pos: &[u64]) -> Vec<u64> {
        let mut q: Vec<u64> = pos
            .iter()
            .flat_map(|&p| [p.saturating_sub(1), p, p + 1])
            .collect();
        q.extend([0, 1, u64::MAX]);
        q
    }

    #[test]
    fn a_position_index_counts_like_the_positions() {
        let pos = positions(1000, 3, |k| match k % 7 {
            0 => 0,
            1 => 70_000,
            2 => 1 << 40,
            3 => 65_535,
            _ => k % 13,
        });
        let idx = idx_of(&pos);
        assert_eq!(idx.len(), 1000);
        assert_eq!(idx.iter().collect::<Vec<_>>(), pos);
        for q in probes(&pos) {
            assert_eq!(idx.count_below(q), pos.partition_point(|&p| p < q), "{q}");
        }
    }

    #[test]
    fn indexes_appended_at_any_cut_count_like_one() {
        let pos = positions(700, 11, |k| match k % 9 {
            0 => 0,
            1 => 300,
            2 => 1 << 35,
            _ => k % 17,
        });
        let idx = idx_of(&pos);
        let want = |q: u64| pos.partition_point(|&p| p < q);
        // Cuts inside blocks, on their edges, and chains of three parts with short blocks
        // in the middle.
        for cut in [0, 1, 5, 63, 64, 65, 130, 699, 700] {
            for cut2 in [cut, cut + 1, cut + 70, 700] {
                let cut2 = cut2.min(700);
                let (mut a, b, c) = (
                    idx_of(&pos[..cut]),
                    idx_of(&pos[cut..cut2]),
                    idx_of(&pos[cut2..]),
                );
                a.append(b);
                a.append(c);
                assert_eq!(a, idx, "cut at {cut} and {cut2}");
                assert_eq!(a.len(), 700);
                let mut counter = a.counter();
                for q in probes(&pos) {
                    assert_eq!(a.count_below(q), want(q), "cut at {cut}, {cut2}: {q}");
                }
                let mut sorted = probes(&pos);
                sorted.sort_unstable();
                for q in sorted {
                    assert_eq!(counter.count_below(q), want(q), "ascending, {cut}: {q}");
                }
                // Pushing on after an append goes on from the appended part's last block.
                let mut d = idx_of(&pos[..cut]);
                d.append(idx_of(&pos[cut..cut2]));
                pos[cut2..].iter().for_each(|&p| d.push(p));
                assert_eq!(d, idx);
            }
        }
        // Equal offsets, other blocks: equal; other offsets: not.
        assert_ne!(idx_of(&pos[1..]), idx);
        assert_ne!(idx_of(&[1, 2]), idx_of(&[1, 3]));
    }

    #[test]
    fn room_made_for_every_store_takes_two_parts_without_moving_them() {
        let pos = positions(5000, 10, |k| 1 + k % 9);
        let cut = 40 * PosIndex::BLOCK + 17;
        let (mut a, mut b) = (PosIndex::default(), PosIndex::default());
        a.reserve(pos.len() as u64);
        b.reserve((pos.len() - cut) as u64);
        let room = a.heap_bytes();
        pos[..cut].iter().for_each(|&p| a.push(p));
        pos[cut..].iter().for_each(|&p| b.push(p));
        a.append(b);
        // The first part's room held both; what it holds is the one index's.
        assert_eq!(a.heap_bytes(), room);
        assert_eq!(a, idx_of(&pos));
    }

    #[test]
    fn a_counter_counts_like_the_index_whatever_order_its_bounds_come_in() {
        // Gaps of every width (wide ones too), duplicates, and long runs inside one block.
        let pos = positions(900, 5, |k| match k % 11 {
            0 => 0,
            1 => 300,
            2 => 255,
            3 => 1 << 33,
            _ => k % 5,
        });
        let idx = idx_of(&pos);
        let want = |q: u64| pos.partition_point(|&p| p < q);
        let mut bounds = probes(&pos);
        bounds.sort_unstable();
        // Ascending (as span ends come), then with steps back and jumps ahead.
        let mut c = idx.counter();
        for &q in &bounds {
            assert_eq!(c.count_below(q), want(q), "ascending {q}");
        }
        let mut c = idx.counter();
        let mut rng = Rng::new(1);
        for _ in 0..3000 {
            let q = bounds[rng.below(bounds.len() as u64) as usize];
            assert_eq!(c.count_below(q), want(q), "shuffled {q}");
        }
    }

    #[test]
    fn long_runs_of_narrow_gaps_count_like_the_positions() {
        // Runs of narrow gaps (0 to 254: eight of 254 make the largest sum a step takes)
        // longer than eight, a wide gap now and then; every offset probed, and one off.
        let mut rng = Rng::new(7);
        let pos = positions(5000, 0, |i| match i % 97 {
            96 => 1000,
            n if n % 3 == 0 => 254,
            _ => rng.below(255),
        });
        let idx = idx_of(&pos);
        let want = |q: u64| pos.partition_point(|&p| p < q);
        let mut c = idx.counter();
        for &p in &pos {
            for q in [p.saturating_sub(1), p, p + 1] {
                assert_eq!(idx.count_below(q), want(q), "{q}");
                assert_eq!(c.count_below(q), want(q), "ascending {q}");
            }
        }
    }
}
