/**
 * Baseline of the WebSocket bench: the least a Node process can do to fan snapshots out. It listens
 * to the same announce channel as snapboard's API and, for each new version, serialises one frame
 * (lists cut to 20), encodes it once and writes that Buffer to every subscriber of its section; on
 * subscribe it sends the current snapshots. Subscribers that ask for patches are sent, for a list
 * section, the same patch frame snapboard would send (against the version before, when smaller than
 * the snapshot), so both servers move the same bytes.
 * No validation, no resume, no back-pressure policy, no per-socket state but its sections, no
 * metrics: the floor, not a product.
 *
 * Env: REDIS_URL, KEY_PREFIX. IPC: answers `{type:'listening', port}`.
 */
import { createRedisClient, subscribeAnnouncements } from '@snapboard/redis';
import {
  diffFields,
  encodeFieldPatch,
  encodePatch,
  keysForConfig,
  loadConfig,
  SECTION_NAMES,
  SECTIONS,
  type SectionName,
} from '@snapboard/shared';
import { type WebSocket, WebSocketServer } from 'ws';

const LIMIT = 20;
const config = loadConfig(process.env);
const keys = keysForConfig(config);
const redis = createRedisClient(config.redis, { name: 'bench-bare-ws', maxRetriesPerRequest: 1 });
const subscriber = createRedisClient(config.redis, {
  name: 'bench-bare-ws',
  maxRetriesPerRequest: null,
  subscriber: true,
});

interface Stored {
  section: SectionName;
  epoch: string;
  version: number;
  computed_at: string;
  data: unknown;
}

// Encoded once: ws frames a Buffer without copying it, where a string would be re-encoded per socket.
const TEXT = { binary: false } as const;
interface Current {
  stored: Stored;
  frame: Buffer;
  /** This version against the one before, for subscribers that apply patches (else the snapshot). */
  patch: Buffer;
  /** The same for subscribers that also apply field updates: the smaller of both forms. */
  fieldPatch: Buffer;
}
const frames = new Map<SectionName, Current>();
/**
 * Each socket's subscribed sections: since the bot's sections joined the catalog (SPEC §11), most
 * announcements carry sections the dashboard's subscribers never asked for.
 */
const subscribers = new Map<WebSocket, Set<SectionName>>();
const patching = new Set<WebSocket>();
const fielding = new Set<WebSocket>();

const cut = (s: Stored) => (SECTIONS[s.section].limited && Array.isArray(s.data) ? s.data.slice(0, LIMIT) : s.data);

function frameOf(s: Stored): Buffer {
  const { section, epoch, version, computed_at } = s;
  return Buffer.from(JSON.stringify({ type: 'snapshot', section, epoch, version, computed_at, data: cut(s) }));
}

function patchOf(base: Stored, s: Stored, frame: Buffer, fields: boolean): Buffer {
  const next = cut(s);
  const previous = cut(base);
  if (base.epoch !== s.epoch || !Array.isArray(next) || !Array.isArray(previous)) return frame;
  const { section, epoch, version, computed_at } = s;
  const head = { section, epoch, version, base_version: base.version, computed_at };
  const previousTexts = previous.map((item) => JSON.stringify(item));
  const nextTexts = next.map((item) => JSON.stringify(item));
  let text = encodePatch(head, previousTexts, nextTexts);
  const update = fields ? diffFields(previous, next, previousTexts, nextTexts) : undefined;
  const byFields = update && encodeFieldPatch(head, next.length, update);
  if (byFields !== undefined && (text === undefined || byFields.length < text.length)) text = byFields;
  if (text === undefined) return frame;
  const patch = Buffer.from(text);
  return patch.length < frame.length ? patch : frame;
}

function accept(s: Stored): Current | undefined {
  const current = frames.get(s.section);
  if (current && current.stored.version >= s.version) return undefined;
  const frame = frameOf(s);
  const next = {
    stored: s,
    frame,
    patch: current ? patchOf(current.stored, s, frame, false) : frame,
    fieldPatch: current ? patchOf(current.stored, s, frame, true) : frame,
  };
  frames.set(s.section, next);
  return next;
}

const subscription = subscribeAnnouncements(subscriber, keys.announceChannel, (message) => {
  type Item = { changed: boolean; snapshot?: Stored };
  const announcement = JSON.parse(message) as Item & { items?: Item[] };
  // A change set's members go out back to back, with nothing in between.
  const changed: Current[] = [];
  for (const item of announcement.items ?? [announcement]) {
    const current = item.changed && item.snapshot ? accept(item.snapshot) : undefined;
    if (current) changed.push(current);
  }
  if (!changed.length) return;
  for (const [socket, sections] of subscribers) {
    const patches = patching.has(socket);
    const fields = fielding.has(socket);
    for (const current of changed) {
      if (!sections.has(current.stored.section)) continue;
      socket.send(fields ? current.fieldPatch : patches ? current.patch : current.frame, TEXT);
    }
  }
});

await subscription.ready;
const raws = await redis.mget(...SECTION_NAMES.map((s) => keys.snapshot(s)));
for (const raw of raws) if (raw) accept(JSON.parse(raw) as Stored);

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 });
server.on('connection', (socket) => {
  socket.send(JSON.stringify({ type: 'welcome', sections: SECTION_NAMES, server_time: new Date().toISOString() }));
  socket.on('message', (data) => {
    let message: { type?: string; sections?: SectionName[]; patches?: boolean; fields?: boolean };
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message.type !== 'subscribe' || !Array.isArray(message.sections)) return;
    socket.send(JSON.stringify({ type: 'subscribed', sections: message.sections }));
    for (const section of message.sections) {
      const current = frames.get(section);
      if (current) socket.send(current.frame, TEXT);
    }
    subscribers.set(socket, new Set(message.sections));
    if (message.patches === true) patching.add(socket);
    if (message.patches === true && message.fields === true) fielding.add(socket);
  });
  socket.on('close', () => {
    subscribers.delete(socket);
    patching.delete(socket);
    fielding.delete(socket);
  });
});
server.on('listening', () => {
  const address = server.address();
  process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});

const stop = () => {
  for (const socket of subscribers.keys()) socket.terminate();
  redis.disconnect();
  subscriber.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
