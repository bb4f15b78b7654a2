import type { SectionName, WsErrorCode } from '@snapboard/shared';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LimitKind } from './limits.ts';

/**
 * The WebSocket side of /metrics. Gauges are read at scrape time from the live state (no inc/dec
 * bookkeeping to drift); counters are bumped where things happen and mirrored in plain numbers for
 * `stats()`, which tests and logs read synchronously.
 */

export type SentType = 'welcome' | 'subscribed' | 'unsubscribed' | 'pong' | 'snapshot' | 'patch' | 'batch' | 'error';
export type DisconnectReason = 'slow_reader' | 'dead_peer' | 'error_flood' | 'rate_limit' | 'too_big' | 'shutdown';
export type RejectReason = 'not_found' | 'origin' | 'per_ip_limit' | 'total_limit' | 'shutting_down';

export interface WsTally {
  framesSent: number;
  /** Snapshot and patch frames built: one per (section, limit) per change, however many sockets get it. */
  framesSerialized: number;
  snapshotsSent: number;
  patchesSent: number;
  skips: number;
  errorsSent: number;
  /** Commands dropped for being over a limit (SPEC §13), by the limit they were over. */
  commandsRejected: Record<LimitKind, number>;
  /** Payload bytes written in answer to commands (pushed changes excluded). */
  answerBytes: number;
  disconnects: Record<DisconnectReason, number>;
  rejected: Record<RejectReason, number>;
}

export interface WsMetrics {
  tally: WsTally;
  sent(type: SentType, count?: number): void;
  /** A change set joined a fan-out round in progress (fanout.ts). */
  joined(): void;
  skipped(): void;
  serialized(): void;
  errorSent(code: WsErrorCode): void;
  disconnected(reason: DisconnectReason): void;
  commandRejected(limit: LimitKind): void;
  answered(bytes: number): void;
  rejected(reason: RejectReason): void;
  fanoutSeconds: Histogram;
}

export function createWsMetrics(
  registry: Registry,
  live: { sections: readonly SectionName[]; connections(): number; subscriptions(section: SectionName): number },
): WsMetrics {
  const registers = [registry];
  new Gauge({
    name: 'snapboard_ws_connections',
    help: 'Open WebSocket connections on this API instance.',
    registers,
    collect() {
      this.set(live.connections());
    },
  });
  new Gauge({
    name: 'snapboard_ws_subscriptions',
    help: 'WebSocket subscriptions per section on this API instance.',
    labelNames: ['section'],
    registers,
    collect() {
      for (const section of live.sections) this.set({ section }, live.subscriptions(section));
    },
  });
  const sent = new Counter({
    name: 'snapboard_ws_messages_sent_total',
    help: 'WebSocket messages written to clients, by message type.',
    labelNames: ['type'],
    registers,
  });
  const skips = new Counter({
    name: 'snapboard_ws_slow_reader_skips_total',
    help: 'Snapshot versions not sent to a client because it was behind (it gets the newest when it drains).',
    registers,
  });
  const errors = new Counter({
    name: 'snapboard_ws_errors_sent_total',
    help: 'WebSocket error frames sent, by code.',
    labelNames: ['code'],
    registers,
  });
  const disconnects = new Counter({
    name: 'snapboard_ws_disconnects_total',
    help: 'WebSocket connections closed by the server, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const rejects = new Counter({
    name: 'snapboard_ws_upgrades_rejected_total',
    help: 'WebSocket upgrade requests refused, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const serialized = new Counter({
    name: 'snapboard_ws_frames_serialized_total',
    help: 'Snapshot and patch frames serialized (once per section, limit and version, shared by all their sockets).',
    registers,
  });
  const commandsRejected = new Counter({
    name: 'snapboard_ws_commands_rejected_total',
    help: 'WebSocket commands dropped for being over the connection limits (SPEC §13), by limit: commands or bytes.',
    labelNames: ['limit'],
    registers,
  });
  const answerBytes = new Counter({
    name: 'snapboard_ws_answer_bytes_total',
    help: 'Payload bytes written in answer to WebSocket commands (pushed changes not counted).',
    registers,
  });
  const joins = new Counter({
    name: 'snapboard_ws_sets_joined_total',
    help: 'Change sets that joined a fan-out round in progress: its subscribers not reached yet got both in one write.',
    registers,
  });
  const fanoutSeconds = new Histogram({
    name: 'snapboard_ws_fanout_seconds',
    help: 'Time to frame one section change and write it to every subscriber of this instance.',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
    registers,
  });

  const tally: WsTally = {
    framesSent: 0,
    framesSerialized: 0,
    snapshotsSent: 0,
    patchesSent: 0,
    skips: 0,
    errorsSent: 0,
    commandsRejected: { commands: 0, bytes: 0 },
    answerBytes: 0,
    disconnects: { slow_reader: 0, dead_peer: 0, error_flood: 0, rate_limit: 0, too_big: 0, shutdown: 0 },
    rejected: { not_found: 0, origin: 0, per_ip_limit: 0, total_limit: 0, shutting_down: 0 },
  };

  return {
    tally,
    sent(type, count = 1) {
      tally.framesSent += count;
      if (type === 'snapshot') tally.snapshotsSent += count;
      else if (type === 'patch') tally.patchesSent += count;
      sent.inc({ type }, count);
    },
    joined() {
      joins.inc();
    },
    skipped() {
      tally.skips++;
      skips.inc();
    },
    serialized() {
      tally.framesSerialized++;
      serialized.inc();
    },
    errorSent(code) {
      tally.errorsSent++;
      errors.inc({ code });
    },
    disconnected(reason) {
      tally.disconnects[reason]++;
      disconnects.inc({ reason });
    },
    commandRejected(limit) {
      tally.commandsRejected[limit]++;
      commandsRejected.inc({ limit });
    },
    answered(bytes) {
      tally.answerBytes += bytes;
      answerBytes.inc(bytes);
    },
    rejected(reason) {
      tally.rejected[reason]++;
      rejects.inc({ reason });
    },
    fanoutSeconds,
  };
}
