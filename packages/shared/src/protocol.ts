import { z } from 'zod';
import type { FieldUpdate } from './patch.ts';
import type { SectionData } from './section-data.ts';
import { MAX_LIMIT, SECTION_NAMES, type SectionName } from './sections.ts';

/** The WebSocket protocol of SPEC §7, defined once for the server, the SDK and the tests. */

export const MAX_FRAME_BYTES = 64 * 1024;

// Where the socket is served lives with the other public paths (zod-free, for the page).
export { WS_PATH } from './paths.ts';

export const WS_CLOSE = {
  goingAway: 1001,
  policyViolation: 1008,
  tooBig: 1009,
  tryAgainLater: 1013,
} as const;

const sectionList = z
  .array(z.string())
  .min(1)
  .max(SECTION_NAMES.length * 2);

export const subscribeSchema = z.object({
  type: z.literal('subscribe'),
  sections: sectionList,
  limit: z.number().int().min(1).max(MAX_LIMIT).optional(),
  versions: z
    .record(z.string(), z.object({ epoch: z.string().max(128), version: z.number().int().nonnegative() }))
    .optional(),
  /**
   * Opt-in beyond SPEC §7: the subscriber can apply `patch` frames to list sections it holds, and is
   * sent them where they are smaller than the snapshot. Without it every change is a full snapshot.
   */
  patches: z.boolean().optional(),
  /**
   * SPEC §10: each change set comes as one `batch` frame whose items are the frames this subscriber
   * would otherwise have been sent for it. The answer to this subscribe itself is never a batch.
   */
  batches: z.boolean().optional(),
  /**
   * With patches: the subscriber also applies a patch's `update` (patch.ts `FieldUpdate`), the moved
   * fields of items that stayed in place, which is what a price tick sends for open_positions.
   */
  fields: z.boolean().optional(),
});

export const unsubscribeSchema = z.object({ type: z.literal('unsubscribe'), sections: sectionList });

export const pingSchema = z.object({ type: z.literal('ping'), id: z.unknown().optional() });

export const clientMessageSchema = z.discriminatedUnion('type', [subscribeSchema, unsubscribeSchema, pingSchema]);

export type SubscribeMessage = z.infer<typeof subscribeSchema>;
export type UnsubscribeMessage = z.infer<typeof unsubscribeSchema>;
export type PingMessage = z.infer<typeof pingSchema>;
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type ResumeVersions = Partial<Record<SectionName, { epoch: string; version: number }>>;

export interface WelcomeMessage {
  type: 'welcome';
  sections: SectionName[];
  server_time: string;
}
export interface SubscribedMessage {
  type: 'subscribed';
  sections: SectionName[];
}
export interface UnsubscribedMessage {
  type: 'unsubscribed';
  sections: SectionName[];
}
export interface PongMessage {
  type: 'pong';
  id: unknown;
}
export type SnapshotMessage<K extends SectionName = SectionName> = {
  [S in K]: {
    type: 'snapshot';
    section: S;
    epoch: string;
    version: number;
    computed_at: string;
    data: SectionData[S];
  };
}[K];
/**
 * A list section's change relative to the version the subscriber holds (only to subscribers that
 * asked for patches, only within one epoch): data = prepend ++ held.slice(keep[0], keep[1]) ++ append.
 * A subscriber that does not hold `base_version` subscribes to the section again without versions
 * and is sent the full snapshot.
 */
export type PatchMessage<K extends SectionName = SectionName> = {
  [S in K]: SectionData[S] extends readonly (infer Item)[]
    ? {
        type: 'patch';
        section: S;
        epoch: string;
        version: number;
        base_version: number;
        computed_at: string;
        keep: [number, number];
        prepend: Item[];
        append: Item[];
        /** Applied after the splice, to subscribers that asked for `fields` only. */
        update?: FieldUpdate;
      }
    : never;
}[K];
/** One change set (SPEC §10): `items` are exactly the snapshot and patch frames it brings this subscriber. */
export interface BatchMessage {
  type: 'batch';
  /** The set's id: decimal, increasing over the deployment's lifetime. */
  change: string;
  items: Array<SnapshotMessage | PatchMessage>;
}

export interface ErrorMessage {
  type: 'error';
  code: WsErrorCode;
  message: string;
}

export type ServerMessage =
  | WelcomeMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | PongMessage
  | SnapshotMessage
  | PatchMessage
  | BatchMessage
  | ErrorMessage;

export const WS_ERROR_CODES = [
  'invalid_json',
  'unknown_type',
  'unknown_section',
  'invalid_limit',
  'invalid_message',
  // SPEC §13: a command over the connection's limits was dropped (sent at most once a second).
  'rate_limited',
] as const;
export type WsErrorCode = (typeof WS_ERROR_CODES)[number];
