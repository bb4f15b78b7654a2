export { CHANGES_CHANNEL, createChangeListener, createDebouncer, SECTIONS_BY_TABLE } from './changes.ts';
export { createPriceSource, type PriceSource } from './prices/index.ts';
export { contentHash, createPublisher, type PublishResult, stableStringify } from './publish.ts';
export { staggerOffsets, upsertSchedules } from './schedule.ts';
export {
  type Computation,
  type ComputationRegistry,
  computationsFor,
  computeSection,
  SECTION_COMPUTERS,
  type SectionComputations,
} from './sections/index.ts';
export { type SectionTiming, type Timings, timeSections } from './timings.ts';
export { createPool, createWorker, type SnapboardWorker, type WorkerOptions } from './worker.ts';
