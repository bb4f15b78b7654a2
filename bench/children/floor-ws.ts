/**
 * The floor of the change-set bench (issue 11): the least any process can do between a commit and
 * its subscribers. It LISTENs on the trigger's channel itself (no worker, no Redis, no query) and, for
 * each committed change to paper_trades, writes one prepared frame to every socket: the batch frame
 * snapboard sent a subscriber for a close (captured by the load generator in snapboard's round just
 * before), with one item of its own appended (`"section":"floor","version":k` for the k-th commit),
 * so that its subscribers read exactly the bytes snapboard's read, plus ~70. Without a captured frame
 * (argument `--bytes N`), a snapshot frame padded to N bytes. On subscribe it answers with a tiny
 * frame per section, so the load generator knows the socket is ready. Nothing else: no state per
 * socket, no back-pressure policy, no validation.
 *
 * Env: DATABASE_URL. Argument: the path of the captured frame, or `--bytes N`. IPC: answers
 * `{type:'listening', port}`.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '@snapboard/shared';
import pg from 'pg';
import { type WebSocket, WebSocketServer } from 'ws';

const config = loadConfig(process.env);
const TEXT = { binary: false } as const;
const subscribers = new Set<WebSocket>();
let commits = 0;

const padded = process.argv[2] === '--bytes' ? Number(process.argv[3] ?? 1024) : undefined;
const captured = padded === undefined && process.argv[2] ? readFileSync(process.argv[2]) : undefined;
// A batch frame ends with `]}`: the floor's own item goes before it.
const capturedHead = captured?.subarray(0, captured.lastIndexOf(']}'));

/** The frame of the `version`-th commit: built once, the same Buffer for everyone. */
function frame(version: number): Buffer {
  const item = `{"type":"snapshot","section":"floor","epoch":"floor","version":${version}}`;
  if (capturedHead) return Buffer.concat([capturedHead, Buffer.from(`,${item}]}`)]);
  const head = `{"type":"snapshot","section":"floor","epoch":"floor","version":${version},"computed_at":"","data":"`;
  const pad = Math.max(0, (padded ?? 1024) - head.length - 2);
  return Buffer.from(`${head}${'x'.repeat(pad)}"}`);
}

const listener = new pg.Client({
  connectionString: config.databaseUrl,
  application_name: 'snapboard-bench-floor',
});
listener.on('notification', (n) => {
  if (n.payload !== 'paper_trades') return;
  const prepared = frame(++commits);
  for (const socket of subscribers) socket.send(prepared, TEXT);
});
await listener.connect();
await listener.query('LISTEN snapboard_changes');

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 });
server.on('connection', (socket) => {
  socket.on('message', (data) => {
    let message: { type?: string; sections?: string[] };
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message.type !== 'subscribe' || !Array.isArray(message.sections)) return;
    socket.send(JSON.stringify({ type: 'subscribed', sections: message.sections }));
    for (const section of message.sections) {
      socket.send(`{"type":"snapshot","section":${JSON.stringify(section)},"epoch":"floor","version":0}`, TEXT);
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
  void listener.end().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
