/**
 * A load generator run as its own process (`node --import tsx load-client.ts <json options>`), so the
 * test runner does not compete with it and its sockets are real clients of a real server.
 *
 * mode "ws": open `clients` WebSockets, subscribe, read every frame; track per client and section the
 * versions received. Versions of a section rise by exactly one per change (SPEC §4), so a reader that
 * keeps up sees consecutive versions: any gap is a dropped version. Prints one JSON line "ready" when
 * every client is subscribed, and one JSON result line at the end.
 *
 * mode "http": autocannon with `connections` concurrent clients at `rate` requests/s overall.
 */
import autocannon from 'autocannon';
import WebSocket from 'ws';

interface WsOptions {
  mode: 'ws';
  baseUrl: string;
  clients: number;
  durationMs: number;
  /** Sections every client subscribes to; odd-numbered clients take `lightSections` with limit 5. */
  sections: string[];
  lightSections: string[];
}

interface HttpOptions {
  mode: 'http';
  baseUrl: string;
  connections: number;
  durationMs: number;
  rate: number;
  paths: string[];
}

const options = JSON.parse(process.argv[2] ?? '{}') as WsOptions | HttpOptions;
const emit = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (options.mode === 'ws') await runWs(options);
else await runHttp(options);

async function runWs(o: WsOptions): Promise<void> {
  interface Track {
    epoch: string;
    first: number;
    last: number;
    received: number;
  }
  const wsUrl = `${o.baseUrl.replace(/^http/, 'ws')}/ws`;
  const result = {
    opened: 0,
    openFailures: [] as string[],
    unexpectedCloses: {} as Record<string, number>,
    errorFrames: [] as string[],
    unparsable: 0,
    snapshots: 0,
    backwards: [] as string[],
    gaps: [] as string[],
    dropped: 0,
    behindAtEnd: [] as string[],
    epochChanges: 0,
  };
  const clients: { ws: WebSocket; sections: string[]; tracks: Map<string, Track>; stopping: boolean }[] = [];
  let stopping = false;

  const head = /^\{"type":"snapshot","section":"([a-z_]+)","epoch":"([^"]*)","version":(\d+),/;
  function onFrame(client: (typeof clients)[number], index: number, text: string) {
    let section: string | undefined;
    let epoch: string | undefined;
    let version: number | undefined;
    const m = head.exec(text.slice(0, 300));
    if (m) {
      section = m[1];
      epoch = m[2];
      version = Number(m[3]);
    } else {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        result.unparsable++;
        return;
      }
      if (message.type === 'error') result.errorFrames.push(`client ${index}: ${text.slice(0, 200)}`);
      if (message.type !== 'snapshot') return;
      section = String(message.section);
      epoch = String(message.epoch);
      version = Number(message.version);
    }
    result.snapshots++;
    const track = client.tracks.get(section!);
    if (!track) {
      client.tracks.set(section!, { epoch: epoch!, first: version!, last: version!, received: 1 });
      return;
    }
    track.received++;
    if (track.epoch !== epoch) {
      result.epochChanges++;
      track.epoch = epoch!;
      track.last = version!;
      return;
    }
    if (version! <= track.last) {
      if (result.backwards.length < 20) result.backwards.push(`client ${index} ${section} ${track.last} -> ${version}`);
    } else if (version! > track.last + 1) {
      result.dropped += version! - track.last - 1;
      if (result.gaps.length < 20) result.gaps.push(`client ${index} ${section} ${track.last} -> ${version}`);
    }
    track.last = Math.max(track.last, version!);
  }

  function open(index: number): Promise<void> {
    const sections = index % 2 === 0 ? o.sections : o.lightSections;
    const limit = index % 2 === 0 ? 20 : 5;
    return new Promise((resolve) => {
      const ws = new WebSocket(wsUrl, { handshakeTimeout: 20_000 });
      const client = { ws, sections, tracks: new Map<string, Track>(), stopping: false };
      ws.on('error', () => {});
      ws.once('unexpected-response', (_req, res) => {
        result.openFailures.push(`client ${index}: HTTP ${res.statusCode}`);
        res.resume();
        resolve();
      });
      ws.once('open', () => {
        result.opened++;
        clients.push(client);
        ws.send(JSON.stringify({ type: 'subscribe', sections, limit }));
      });
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('{"type":"subscribed"')) resolve();
        onFrame(client, index, text);
      });
      ws.once('close', (code) => {
        if (!stopping) {
          const key = String(code);
          result.unexpectedCloses[key] = (result.unexpectedCloses[key] ?? 0) + 1;
        }
        resolve();
      });
      ws.once('error', (error) => {
        if (ws.readyState !== WebSocket.OPEN) {
          result.openFailures.push(`client ${index}: ${error.message}`);
          resolve();
        }
      });
    });
  }

  // Open in waves so the test measures steady load, not a thundering handshake herd.
  for (let i = 0; i < o.clients; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, o.clients - i) }, (_, k) => open(i + k)));
  }
  emit({ ready: true, opened: result.opened });
  await new Promise((r) => setTimeout(r, o.durationMs));

  // The API's current versions: a reader that keeps up reaches them within moments.
  const targets = new Map<string, { epoch: string; version: number }>();
  for (const section of new Set([...o.sections, ...o.lightSections])) {
    const answer = await fetch(`${o.baseUrl}/api/public/dashboard/sections/${section}/`);
    const body = (await answer.json()) as { epoch: string; version: number };
    targets.set(section, { epoch: body.epoch, version: body.version });
  }
  const behind = () =>
    clients.filter(
      (c) =>
        c.ws.readyState === WebSocket.OPEN &&
        c.sections.some((s) => {
          const t = targets.get(s)!;
          const track = c.tracks.get(s);
          return !track || track.epoch !== t.epoch || track.last < t.version;
        }),
    );
  const deadline = Date.now() + 10_000;
  while (behind().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const [index, c] of behind().slice(0, 20).entries()) {
    result.behindAtEnd.push(
      `#${index}: ${c.sections.map((s) => `${s}@${c.tracks.get(s)?.last}/${targets.get(s)?.version}`).join(' ')}`,
    );
  }
  stopping = true;
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.ws.close(1000);
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 5000).unref();
        }),
    ),
  );
  emit({ result, targets: Object.fromEntries(targets) });
}

async function runHttp(o: HttpOptions): Promise<void> {
  const statuses: Record<string, number> = {};
  let bodyErrors = 0;
  const instance = autocannon({
    url: o.baseUrl,
    connections: o.connections,
    duration: Math.ceil(o.durationMs / 1000),
    overallRate: o.rate,
    timeout: 20,
    requests: o.paths.map((path) => ({ method: 'GET', path })),
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  instance.on('reqError', () => {
    bodyErrors++;
  });
  emit({ ready: true });
  const summary = await instance;
  emit({
    result: {
      requests: summary.requests.total,
      errors: summary.errors,
      timeouts: summary.timeouts,
      non2xx: summary.non2xx,
      resets: summary.resets,
      reqErrors: bodyErrors,
      statuses,
      latencyP99: summary.latency.p99,
      connections: o.connections,
    },
  });
}
