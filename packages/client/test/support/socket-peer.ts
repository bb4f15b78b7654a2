import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodePatch, type ResumeVersions, type SectionName, type ServerMessage } from '@snapboard/shared';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * The far end of the SDK's socket in unit tests: speaks SPEC §7 (welcome, subscribe with resume,
 * ping/pong, snapshot pushes, and `patch` frames to a subscriber that asked for them and was sent the
 * version before) and lets a test do what a real server cannot be asked to do on cue: drop every
 * connection, go silent, refuse connections, come back on the same port, or send any frame at all.
 * It has no HTTP endpoints: polling is tested against the real API.
 */

interface Held {
  epoch: string;
  version: number;
  computed_at: string;
  data: unknown;
}

interface Peer {
  socket: WebSocket;
  sections: Set<SectionName>;
  limit: number;
  patches: boolean;
  /** The version of each section this peer was last written, as the real server tracks it. */
  sent: Map<SectionName, { epoch: string; version: number }>;
  /** Told rate_limited for the frames being dropped now (once per run of drops). */
  limited: boolean;
}

export interface SocketPeer {
  url: string;
  /** Every frame clients sent, parsed, in order. */
  received: Array<Record<string, unknown>>;
  /** Every frame sent to clients, parsed, in order. */
  sent: Array<Record<string, unknown>>;
  /** Set a section's data; bumps the version (or starts `epoch` at version 1) and pushes to subscribers. */
  publish(section: SectionName, data: unknown, options?: { epoch?: string; push?: boolean }): Held;
  /** Send a frame as it is (an object is sent as its JSON) to every connection. */
  push(frame: unknown): void;
  current(section: SectionName): Held | undefined;
  connections(): number;
  /** Cut every connection without a closing handshake, as a crashed server or a lost network would. */
  dropAll(): void;
  /** Drop the next `count` frames, telling the sender `rate_limited` once, as a server over SPEC §13's limits does. */
  rateLimit(count: number): void;
  /** Keep connections open but answer nothing (a half-open peer). */
  silence(on: boolean): void;
  /** Stop listening and cut connections; `resume()` listens again on the same port. */
  stop(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startSocketPeer(): Promise<SocketPeer> {
  const sections = new Map<SectionName, Held>();
  const peers = new Set<Peer>();
  const received: Array<Record<string, unknown>> = [];
  const sent: Array<Record<string, unknown>> = [];
  let silent = false;
  let toDrop = 0;
  let port = 0;
  let http: Server;
  let wss: WebSocketServer;

  const sendRaw = (peer: Peer, frame: string) => {
    if (silent || peer.socket.readyState !== WebSocket.OPEN) return;
    peer.socket.send(frame);
    try {
      sent.push(JSON.parse(frame) as Record<string, unknown>);
    } catch {
      sent.push({ raw: frame });
    }
  };
  const send = (peer: Peer, message: ServerMessage) => sendRaw(peer, JSON.stringify(message));
  const cut = (peer: Peer, data: unknown) => (Array.isArray(data) ? data.slice(0, peer.limit) : data);
  const snapshotFor = (peer: Peer, section: SectionName, held: Held): ServerMessage =>
    ({
      type: 'snapshot',
      section,
      epoch: held.epoch,
      version: held.version,
      computed_at: held.computed_at,
      data: cut(peer, held.data),
    }) as ServerMessage;
  /** The patch frame from `base` (which the peer was sent) to `held`, built as the server builds it. */
  const patchFor = (peer: Peer, section: SectionName, base: Held, held: Held): string | undefined => {
    const before = cut(peer, base.data);
    const after = cut(peer, held.data);
    if (!Array.isArray(before) || !Array.isArray(after)) return undefined;
    const { epoch, version, computed_at } = held;
    return encodePatch(
      { section, epoch, version, base_version: base.version, computed_at },
      before.map((item) => JSON.stringify(item)),
      after.map((item) => JSON.stringify(item)),
    );
  };
  const deliver = (peer: Peer, section: SectionName, held: Held, base: Held | undefined) => {
    const had = peer.sent.get(section);
    const patch =
      peer.patches && base && had?.epoch === base.epoch && had.version === base.version && base.epoch === held.epoch
        ? patchFor(peer, section, base, held)
        : undefined;
    sendRaw(peer, patch ?? JSON.stringify(snapshotFor(peer, section, held)));
    peer.sent.set(section, { epoch: held.epoch, version: held.version });
  };

  async function listen(): Promise<void> {
    http = createServer((_, response) => response.writeHead(404).end());
    wss = new WebSocketServer({ server: http, path: '/ws' });
    wss.on('connection', (socket) => {
      const peer: Peer = {
        socket,
        sections: new Set(),
        limit: 20,
        patches: false,
        sent: new Map(),
        limited: false,
      };
      peers.add(peer);
      socket.on('close', () => peers.delete(peer));
      send(peer, { type: 'welcome', sections: [...sections.keys()], server_time: new Date().toISOString() });
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as Record<string, unknown>;
        received.push(message);
        if (toDrop > 0) {
          toDrop--;
          if (!peer.limited) send(peer, { type: 'error', code: 'rate_limited', message: 'slow down' });
          peer.limited = true;
          return;
        }
        peer.limited = false;
        if (message.type === 'ping') send(peer, { type: 'pong', id: message.id });
        if (message.type !== 'subscribe') return;
        const names = message.sections as SectionName[];
        const versions = (message.versions ?? {}) as ResumeVersions;
        peer.limit = (message.limit as number | undefined) ?? 20;
        peer.patches = message.patches === true;
        for (const name of names) {
          peer.sections.add(name);
          // Like the real server: a claimed version is not patched against (nor is what it was sent before).
          peer.sent.delete(name);
        }
        send(peer, { type: 'subscribed', sections: names });
        for (const name of names) {
          const held = sections.get(name);
          const known = versions[name];
          if (held && (known?.epoch !== held.epoch || known.version !== held.version)) {
            send(peer, snapshotFor(peer, name, held));
            peer.sent.set(name, { epoch: held.epoch, version: held.version });
          }
        }
      });
    });
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  }

  async function stop(): Promise<void> {
    if (!http.listening) return;
    for (const peer of peers) peer.socket.terminate();
    peers.clear();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    received,
    sent,
    publish(section, data, options = {}) {
      const previous = sections.get(section);
      const epoch = options.epoch ?? previous?.epoch ?? randomUUID();
      const held: Held = {
        epoch,
        version: previous && previous.epoch === epoch ? previous.version + 1 : 1,
        computed_at: new Date().toISOString(),
        data,
      };
      sections.set(section, held);
      if (options.push === false) return held;
      for (const peer of peers) if (peer.sections.has(section)) deliver(peer, section, held, previous);
      return held;
    },
    push(frame) {
      const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
      for (const peer of peers) sendRaw(peer, text);
    },
    current: (section) => sections.get(section),
    connections: () => peers.size,
    dropAll() {
      for (const peer of peers) peer.socket.terminate();
    },
    rateLimit(count) {
      toDrop = count;
    },
    silence(on) {
      silent = on;
    },
    stop,
    resume: listen,
    close: stop,
  };
}
