/**
 * WebSocket subscribers for the fan-out, freshness and database-load benches: many sockets in one
 * process, each subscribed to every section (limit 20), each recording which (section, version)
 * frames it got and when. Frames are not parsed in full (the head names the section and version), so
 * this process spends its time receiving, not in JSON.parse, and times stay close to the wire.
 *
 * Subscribers ask for patch frames (docs/decisions/0006) unless told `patches: false`; a patch
 * counts as receipt of its version like a snapshot does. Told `fields` / `batches`, they also ask for
 * field updates and for change sets as batch frames (decision 0009), as the SDK does; every item of
 * a batch counts as receipt of its version.
 *
 * IPC:
 *  {type:'connect', url, count, limit, sections, localAddress, concurrency, patches}
 *     → {type:'connected', ok, failed, errors, ms}   (every socket subscribed and holding every section)
 *  {type:'reset'}                               forget what was received so far → {type:'reset-done'}
 *  {type:'count', announced: {"section:version": wallMs}} → {type:'count', missing}   (cheap, for polling)
 *  {type:'report', announced: {"section:version": wallMs}}
 *     → {type:'report', perKey, deliveries, missing, socketsMissing, closed, closeCodes, bytes, sample}
 *        (bytes: frame payload bytes received since the last reset, by frame type; sample: the batch
 *        frame that carried the lite version of the last announced close, base64)
 *  {type:'close'} → {type:'closed'}
 */
import { WebSocket } from 'ws';
import { wallMs } from '../lib/procs.ts';

interface Client {
  socket: WebSocket;
  /** "section:version" → receipt time. */
  got: Map<string, number>;
  sections: Set<string>;
  closedCode?: number;
}

const clients: Client[] = [];
let unexpectedCloses = 0;
const closeCodes: Record<string, number> = {};
let closing = false;
const bytes = { snapshot: 0, patch: 0, other: 0 };

const HEAD = /"section":"([a-z_]+)"[\s\S]*?"version":(\d+)/;
/** Every item's head in a batch frame: items are frames, whose JSON starts with type, section, epoch, version. */
const ITEM = /"type":"(?:snapshot|patch)","section":"([a-z_]+)","epoch":"[^"]*","version":(\d+)/g;

/** A frame's type from its head, and for snapshots and patches the "section:version" it delivers. */
function readFrame(data: Buffer): { type: keyof typeof bytes; key?: string; keys?: string[] } {
  const head = data.toString('latin1', 0, Math.min(data.length, 512));
  if (head.startsWith('{"type":"batch"')) {
    const keys = [...data.toString('utf8').matchAll(ITEM)].map((m) => `${m[1]}:${m[2]}`);
    return { type: 'snapshot', keys };
  }
  const type = head.includes('"type":"snapshot"') ? 'snapshot' : head.includes('"type":"patch"') ? 'patch' : 'other';
  if (type === 'other') return { type };
  const match = HEAD.exec(head);
  if (match) return { type, key: `${match[1]}:${match[2]}` };
  try {
    const frame = JSON.parse(data.toString('utf8')) as { section?: string; version?: number };
    return { type, key: `${frame.section}:${frame.version}` };
  } catch {
    return { type };
  }
}

function openOne(
  url: string,
  limit: number,
  sections: string[],
  localAddress: string | undefined,
  patches: boolean,
  fields: boolean,
  batches: boolean,
): Promise<Client | string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: 30_000,
      ...(localAddress ? { localAddress } : {}),
    });
    const client: Client = { socket, got: new Map(), sections: new Set() };
    let settled = false;
    const done = (result: Client | string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      done('timed out waiting for the initial snapshots');
      socket.terminate();
    }, 60_000);
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'subscribe', sections, limit, patches, fields, batches })),
    );
    socket.on('message', (data: Buffer) => {
      const at = wallMs();
      const { type, key, keys } = readFrame(data);
      if (keys) keepSample(keys, data);
      bytes[type] += data.length;
      for (const k of keys ?? (key ? [key] : [])) {
        client.got.set(k, at);
        client.sections.add(k.slice(0, k.indexOf(':')));
      }
      if (!settled && client.sections.size >= sections.length) done(client);
    });
    socket.on('error', (error) => done(error.message));
    socket.on('close', (code) => {
      if (!settled) done(`closed ${code} before the initial snapshots`);
      else if (!closing && clients.includes(client)) {
        unexpectedCloses++;
        closeCodes[code] = (closeCodes[code] ?? 0) + 1;
        client.closedCode = code;
      }
    });
  });
}

interface ConnectRequest {
  type: 'connect';
  url: string;
  count: number;
  limit: number;
  sections: string[];
  localAddress?: string;
  concurrency?: number;
  patches?: boolean;
  fields?: boolean;
  batches?: boolean;
}

async function connect(request: ConnectRequest): Promise<void> {
  const started = wallMs();
  let ok = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  let next = 0;
  // A bounded number of handshakes in flight: a burst of 10,000 SYNs overflows the listen backlog.
  const worker = async () => {
    while (next < request.count) {
      next++;
      const result = await openOne(
        request.url,
        request.limit,
        request.sections,
        request.localAddress,
        request.patches ?? true,
        request.fields ?? false,
        request.batches ?? false,
      );
      if (typeof result === 'string') {
        failed++;
        errors[result] = (errors[result] ?? 0) + 1;
      } else {
        ok++;
        clients.push(result);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency ?? 200, request.count) }, worker));
  process.send?.({ type: 'connected', ok, failed, errors, ms: wallMs() - started });
}

/**
 * Batch frames that carried lite, by that lite version (one socket's copy; the few newest): the one
 * of the last announced close is its change set, which the floor replays (floor-ws.ts). Not simply
 * the last frame with lite: a cadence set of lite alone (its 24-hour window moving) is a 250-byte
 * batch, and a floor replaying that would write a fourteenth of a close's bytes.
 */
const samples = new Map<string, Buffer>();
const SAMPLES_KEPT = 64;

function keepSample(keys: readonly string[], data: Buffer): void {
  const lite = keys.find((k) => k.startsWith('lite:'));
  if (!lite || samples.has(lite)) return;
  samples.set(lite, data);
  if (samples.size > SAMPLES_KEPT) samples.delete(samples.keys().next().value as string);
}

/** The sample of the newest announced lite version that has one. */
function sampleOf(announced: Record<string, number>): Buffer | undefined {
  const lites = Object.keys(announced)
    .filter((k) => k.startsWith('lite:'))
    .sort((a, b) => announced[b]! - announced[a]!);
  for (const key of lites) {
    const found = samples.get(key);
    if (found) return found;
  }
  return undefined;
}

function report(announced: Record<string, number>): void {
  const keys = Object.keys(announced);
  const sample = sampleOf(announced);
  const perKey: Record<string, { received: number; firstMs: number | null; lastMs: number | null }> = {};
  const deliveries: number[] = [];
  let missing = 0;
  let socketsMissing = 0;
  for (const key of keys) perKey[key] = { received: 0, firstMs: null, lastMs: null };
  for (const client of clients) {
    let clientMissing = 0;
    for (const key of keys) {
      const at = client.got.get(key);
      if (at === undefined) {
        clientMissing++;
        continue;
      }
      const latency = at - announced[key]!;
      const entry = perKey[key]!;
      entry.received++;
      entry.lastMs = entry.lastMs === null ? latency : Math.max(entry.lastMs, latency);
      entry.firstMs = entry.firstMs === null ? latency : Math.min(entry.firstMs, latency);
      deliveries.push(Math.round(latency * 100) / 100);
    }
    missing += clientMissing;
    if (clientMissing) socketsMissing++;
  }
  process.send?.({
    type: 'report',
    sockets: clients.length,
    perKey,
    deliveries,
    missing,
    socketsMissing,
    closed: unexpectedCloses,
    closeCodes,
    bytes,
    ...(sample ? { sample: sample.toString('base64') } : {}),
  });
}

process.on('message', (message: { type: string } & Record<string, unknown>) => {
  switch (message.type) {
    case 'connect':
      void connect(message as unknown as ConnectRequest);
      break;
    case 'reset':
      for (const client of clients) client.got.clear();
      samples.clear();
      bytes.snapshot = bytes.patch = bytes.other = 0;
      process.send?.({ type: 'reset-done' });
      break;
    case 'report':
      report(message.announced as Record<string, number>);
      break;
    case 'count': {
      const keys = Object.keys(message.announced as Record<string, number>);
      let missing = 0;
      for (const client of clients) for (const key of keys) if (!client.got.has(key)) missing++;
      process.send?.({ type: 'count', missing });
      break;
    }
    case 'close': {
      closing = true;
      let open = 0;
      for (const client of clients) {
        if (client.socket.readyState === WebSocket.OPEN) open++;
        client.socket.terminate();
      }
      clients.length = 0;
      process.send?.({ type: 'closed', open });
      break;
    }
  }
});

process.on('disconnect', () => process.exit(0));
