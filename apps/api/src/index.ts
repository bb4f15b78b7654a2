export { type App, type AppDeps, createApp } from './app.ts';
export { buildOpenApiDocument } from './openapi.ts';
export { type RunningApi, type StartOptions, startApi } from './server.ts';
export { createSnapshotReplica, type ReplicaEntry, type SnapshotReplica } from './snapshot-replica.ts';
