export { fullJitter } from './backoff.ts';
export { createDashboardClient } from './client.ts';
export type {
  BackoffOptions,
  ClientError,
  ConnectionState,
  DashboardClient,
  DashboardClientOptions,
  DashboardUpdate,
  SectionListener,
  SectionSnapshot,
  SectionStatus,
  StateListener,
  WebSocketConstructor,
  WebSocketLike,
} from './types.ts';
