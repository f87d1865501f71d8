export { maintain, parseDuration, type BranchTableReport, type MaintainOptions, type MaintainReport } from './maintain.js';
export { compactTable, compactionGroups, DEFAULT_SMALL_FILE_BYTES, DEFAULT_TARGET_FILE_BYTES, type CompactionOptions, type CompactionResult } from './compaction.js';
export { expireSnapshots, expirableSnapshots, snapshotsHeldByRefs, DEFAULT_RETAIN_LAST, DEFAULT_RETAIN_MS, type ExpireOptions, type ExpireResult } from './expire-snapshots.js';
export { reachableKeys, removeOrphanFiles, DEFAULT_GRACE_MS, type OrphanFile, type OrphanOptions, type OrphanResult } from './orphan-files.js';
