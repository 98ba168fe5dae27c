//! Which part of a log compaction may touch, and how dirty the log is, after
//! Kafka's `LogCleanerManager.cleanableOffsets`, `maxCompactionDelay`,
//! `LogToClean` and `Cleaner.groupSegmentsBySize`. Pure: segment facts in,
//! offsets out.

use std::ops::Range;

/// What planning needs of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: i64,
    pub next_offset: i64,
    pub size: u64,
    /// Largest batch max timestamp.
    pub max_timestamp: Option<i64>,
    /// Max timestamp of the first batch.
    pub first_batch_timestamp: Option<i64>,
}

/// The log's state the plan is made from.
#[derive(Debug, Clone)]
pub struct LogFacts<'a> {
    /// Every segment in offset order; the last one is the active segment.
    pub segments: &'a [SegmentInfo],
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// The cleaner checkpoint: where the last compaction stopped.
    pub checkpoint: Option<i64>,
    /// First offset of the oldest open transaction.
    pub first_unstable_offset: Option<i64>,
    pub min_compaction_lag_ms: i64,
    pub max_compaction_lag_ms: i64,
}

/// A log compaction could work on (Kafka's `LogToClean`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogToClean {
    /// Where the dirty section starts.
    pub first_dirty_offset: i64,
    /// Where it ends: the active segment, an open transaction, or the first
    /// segment younger than `min.compaction.lag.ms`.
    pub first_uncleanable_offset: i64,
    /// The checkpoint was unusable (before the log start or past its end) and
    /// must be rewritten as `first_dirty_offset`.
    pub reset_checkpoint: bool,
    pub clean_bytes: u64,
    pub cleanable_bytes: u64,
    /// A record is older than `max.compaction.lag.ms`.
    pub need_compaction_now: bool,
}

impl LogToClean {
    pub fn total_bytes(&self) -> u64 {
        self.clean_bytes + self.cleanable_bytes
    }

    /// Share of the log's bytes that is dirty.
    pub fn cleanable_ratio(&self) -> f64 {
        if self.total_bytes() == 0 { 0.0 } else { self.cleanable_bytes as f64 / self.total_bytes() as f64 }
    }

    /// Whether the cleaner should take the log now (Kafka's filter in
    /// `grabFilthiestCompactedLog`).
    pub fn is_due(&self, min_cleanable_ratio: f64) -> bool {
        (self.need_compaction_now && self.cleanable_bytes > 0) || self.cleanable_ratio() > min_cleanable_ratio
    }
}

/// Plans a compaction of the log described by `facts` at `now_ms`.
pub fn log_to_clean(facts: &LogFacts<'_>, now_ms: i64) -> LogToClean {
    let checkpoint = facts.checkpoint.unwrap_or(facts.log_start_offset);
    let (first_dirty, reset) = if checkpoint < facts.log_start_offset || checkpoint > facts.log_end_offset {
        (facts.log_start_offset, facts.checkpoint.is_some())
    } else {
        (checkpoint, false)
    };
    let (inactive, active) = facts.segments.split_at(facts.segments.len().saturating_sub(1));
    let active_base = active.first().map_or(facts.log_end_offset, |s| s.base_offset);
    let dirty_inactive = || inactive.iter().filter(move |s| s.next_offset > first_dirty);
    let min_lag = facts.min_compaction_lag_ms.max(0);
    let too_young = if min_lag > 0 {
        dirty_inactive().find(|s| s.max_timestamp.is_some_and(|t| t > now_ms.saturating_sub(min_lag))).map(|s| s.base_offset)
    } else {
        None
    };
    let first_uncleanable = [Some(active_base), facts.first_unstable_offset, too_young].into_iter().flatten().min().unwrap_or(active_base);
    let first_uncleanable = first_uncleanable.max(first_dirty);
    // Kafka's logSegments(from, to): the segments overlapping [from, to).
    let bytes = |from: i64, to: i64| -> u64 {
        facts.segments.iter().filter(|s| s.base_offset < to && (s.next_offset > from || s.base_offset >= from)).map(|s| s.size).sum()
    };
    let clean_bytes = facts.segments.iter().filter(|s| s.base_offset < first_dirty).map(|s| s.size).sum();
    let cleanable_bytes = if first_uncleanable > first_dirty { bytes(first_dirty, first_uncleanable) } else { 0 };
    let max_lag = facts.max_compaction_lag_ms.max(0);
    let clean_until = now_ms.saturating_sub(max_lag);
    let earliest_dirty = dirty_inactive().filter_map(|s| s.first_batch_timestamp).filter(|&t| t > 0).min();
    LogToClean {
        first_dirty_offset: first_dirty,
        first_uncleanable_offset: first_uncleanable,
        reset_checkpoint: reset,
        clean_bytes,
        cleanable_bytes,
        need_compaction_now: earliest_dirty.is_some_and(|t| t < clean_until),
    }
}

/// Groups consecutive segments so each group's total size stays within
/// `max_bytes` (`segment.bytes`) and its offsets fit one segment's 32-bit
/// relative offsets, so that compaction does not leave a trail of tiny
/// segments. `next_base` is where the last segment's offsets end (the first
/// uncleanable offset). Returns index ranges into `segments`.
pub fn group_by_size(segments: &[SegmentInfo], max_bytes: u64, next_base: i64) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < segments.len() {
        let mut end = start + 1;
        let mut size = segments[start].size;
        while let Some(candidate) = segments.get(end) {
            // Kafka estimates a segment's last offset by the next one's base.
            let last_offset = segments.get(end + 1).map_or(next_base, |s| s.base_offset) - 1;
            let fits_offsets = candidate.size == 0 || last_offset - segments[start].base_offset <= i64::from(i32::MAX);
            if size + candidate.size > max_bytes || !fits_offsets {
                break;
            }
            size += candidate.size;
            end += 1;
        }
        groups.push(start..end);
        start = end;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: i64, next: i64, size: u64, ts: i64) -> SegmentInfo {
        SegmentInfo { base_offset: base, next_offset: next, size, max_timestamp: Some(ts), first_batch_timestamp: Some(ts) }
    }

    fn facts(segments: &[SegmentInfo]) -> LogFacts<'_> {
        LogFacts {
            segments,
            log_start_offset: segments[0].base_offset,
            log_end_offset: segments.last().unwrap().next_offset,
            checkpoint: None,
            first_unstable_offset: None,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }

    #[test]
    fn the_dirty_section_ends_at_the_active_segment_an_open_transaction_or_the_compaction_lag() {
        let segments = [seg(0, 10, 100, 1000), seg(10, 20, 100, 2000), seg(20, 30, 100, 3000), seg(30, 35, 50, 4000)];
        let plan = log_to_clean(&facts(&segments), 10_000);
        assert_eq!((plan.first_dirty_offset, plan.first_uncleanable_offset), (0, 30));
        assert_eq!((plan.clean_bytes, plan.cleanable_bytes), (0, 300));
        assert!(plan.is_due(0.5) && !plan.reset_checkpoint);

        let mut f = facts(&segments);
        f.checkpoint = Some(20);
        let plan = log_to_clean(&f, 10_000);
        assert_eq!((plan.first_dirty_offset, plan.clean_bytes, plan.cleanable_bytes), (20, 200, 100));
        assert!((plan.cleanable_ratio() - 1.0 / 3.0).abs() < 1e-9 && !plan.is_due(0.5) && plan.is_due(0.3));

        f.first_unstable_offset = Some(25);
        assert_eq!(log_to_clean(&f, 10_000).first_uncleanable_offset, 25);
        f.first_unstable_offset = None;
        f.checkpoint = Some(0);
        f.min_compaction_lag_ms = 8500; // segments with a record newer than 1500 are too young
        assert_eq!(log_to_clean(&f, 10_000).first_uncleanable_offset, 10);
    }

    #[test]
    fn an_unusable_checkpoint_restarts_at_the_log_start() {
        let segments = [seg(5, 10, 100, 1), seg(10, 20, 100, 2)];
        let mut f = facts(&segments);
        f.checkpoint = Some(2);
        let plan = log_to_clean(&f, 0);
        assert_eq!((plan.first_dirty_offset, plan.reset_checkpoint), (5, true));
        f.checkpoint = Some(99);
        assert_eq!(log_to_clean(&f, 0).first_dirty_offset, 5);
    }

    #[test]
    fn max_compaction_lag_makes_a_log_due_whatever_its_ratio() {
        let segments = [seg(0, 10, 100, 1000), seg(10, 20, 1, 5000), seg(20, 21, 1, 6000)];
        let mut f = facts(&segments);
        f.checkpoint = Some(10);
        assert!(!log_to_clean(&f, 10_000).is_due(0.5));
        f.max_compaction_lag_ms = 4000;
        assert!(log_to_clean(&f, 10_000).need_compaction_now && log_to_clean(&f, 10_000).is_due(0.5));
        f.max_compaction_lag_ms = 6000;
        assert!(!log_to_clean(&f, 10_000).need_compaction_now);
    }

    #[test]
    fn small_segments_are_grouped_up_to_the_segment_size() {
        let segments = [seg(0, 10, 40, 0), seg(10, 20, 40, 0), seg(20, 30, 30, 0), seg(30, 40, 0, 0), seg(40, 50, 90, 0), seg(50, 60, 20, 0)];
        assert_eq!(group_by_size(&segments, 110, 60), vec![0..4, 4..6]);
        assert_eq!(group_by_size(&segments, 10, 60), vec![0..1, 1..2, 2..3, 3..4, 4..5, 5..6]);
        let far = [seg(0, 10, 1, 0), seg(10, 1 << 33, 1, 0)];
        assert_eq!(group_by_size(&far, 100, 1 << 33), vec![0..1, 1..2], "offsets must fit 32 bits");
    }
}
