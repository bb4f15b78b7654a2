/**
 * Baseline of the WebSocket bench: the least a Node process can do to fan snapshots out. It listens
 * to the same announce channel as snapboard's API and, for each new version, serialises one frame
 * (lists cut to 20), encodes it once and writes that Buffer to every subscriber; on subscribe it
 * sends the current snapshots.
 * No validation, no resume, no back-pressure policy, no metrics: the floor, not a product.
 *
 * Env: REDIS_URL, KEY_PREFIX. IPC: answers `{type:'listening', port}`.
 */
import { keysFor, loadConfig, SECTION_NAMES, SECTIONS, type SectionName } from '@snapboard/shared';
import { Redis } from 'ioredis';
import { type WebSocket, WebSocketServer } from 'ws';

const LIMIT = 20;
const config = loadConfig(process.env);
const redisUrl = config.redisUrl;
const keys = keysFor(config.keyPrefix);
const redis = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);

interface Stored {
  section: SectionName;
  epoch: string;
  version: number;
  computed_at: string;
  data: unknown;
}

// Encoded once: ws frames a Buffer without copying it, where a string would be re-encoded per socket.
const TEXT = { binary: false } as const;
const frames = new Map<SectionName, { version: number; frame: Buffer }>();
const subscribers = new Set<WebSocket>();

function frameOf(s: Stored): Buffer {
  const data = SECTIONS[s.section].limited && Array.isArray(s.data) ? s.data.slice(0, LIMIT) : s.data;
  return Buffer.from(
    JSON.stringify({
      type: 'snapshot',
      section: s.section,
      epoch: s.epoch,
      version: s.version,
      computed_at: s.computed_at,
      data,
    }),
  );
}

function accept(s: Stored): Buffer | undefined {
  const current = frames.get(s.section);
  if (current && current.version >= s.version) return undefined;
  const frame = frameOf(s);
  frames.set(s.section, { version: s.version, frame });
  return frame;
}

subscriber.on('message', (_channel, message: string) => {
  const announcement = JSON.parse(message) as { changed: boolean; snapshot?: Stored };
  if (!announcement.changed || !announcement.snapshot) return;
  const frame = accept(announcement.snapshot);
  if (!frame) return;
  for (const socket of subscribers) socket.send(frame, TEXT);
});

await subscriber.subscribe(keys.announceChannel);
const raws = await redis.mget(...SECTION_NAMES.map((s) => keys.snapshot(s)));
for (const raw of raws) if (raw) accept(JSON.parse(raw) as Stored);

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 });
server.on('connection', (socket) => {
  socket.send(JSON.stringify({ type: 'welcome', sections: SECTION_NAMES, server_time: new Date().toISOString() }));
  socket.on('message', (data) => {
    let message: { type?: string; sections?: SectionName[] };
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
    subscribers.add(socket);
  });
  socket.on('close', () => subscribers.delete(socket));
});
server.on('listening', () => {
  const address = server.address();
  process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});

const stop = () => {
  for (const socket of subscribers) socket.terminate();
  redis.disconnect();
  subscriber.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
