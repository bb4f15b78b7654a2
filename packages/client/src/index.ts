export { fullJitter } from './backoff.ts';
export {
  type BackoffOptions,
  type ClientError,
  type ConnectionState,
  createDashboardClient,
  type DashboardClient,
  type DashboardClientOptions,
  type DashboardUpdate,
  type SectionListener,
  type SectionSnapshot,
  type SectionStatus,
  type StateListener,
  type WebSocketConstructor,
  type WebSocketLike,
} from './client.ts';
