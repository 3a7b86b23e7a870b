/** Studies across machines: a BullMQ queue on Redis hands out the trials, `tunescope worker`s run them into a PostgreSQL store. */
export { runDistributedStudy, stopDistributedStudy, queueUrlOf } from './coordinator.js';
export type { DistributedRunOptions, DistributedSummary } from './coordinator.js';
export { runQueueWorker } from './worker.js';
export type { QueueWorkerOptions, QueueWorkerSummary } from './worker.js';
export { QUEUE_NAME, studyKey, jobIdFor } from './queue.js';
export type { TrialJobData, TrialJobProgress } from './queue.js';
