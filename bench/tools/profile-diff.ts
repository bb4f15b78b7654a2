/**
 * Where a server's CPU per answer goes beyond another's (issue 16): two `node --cpu-prof` profiles
 * taken under the same load (e.g. snapboard's API and the bare server, each pinned to core 0 with
 * `wrk -t1 -c100` on core 1), each cut to its last `window` seconds and divided by the requests
 * answered in that window, compared frame by frame (self time). Frames of the application are
 * grouped by file and function; node's by function and file.
 *
 *   npx tsx bench/tools/profile-diff.ts --window 6 A.cpuprofile:REQUESTS B.cpuprofile:REQUESTS
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per frame in µs per request, over the profile's last `windowUs`. */
export function selfPerRequest(profile: CpuProfile, windowUs: number, requests: number): Map<string, number> {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const from = profile.endTime - windowUs;
  const counts = new Map<string, number>();
  let t = profile.startTime;
  let inWindow = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t <= from) return;
    inWindow++;
    const frame = frames.get(id);
    if (!frame) return;
    const file = frame.url.split('/').slice(-2).join('/');
    const key = /\/(src|apps|packages)\//.test(frame.url)
      ? `[app] ${file} ${frame.functionName || '(anonymous)'}`
      : `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  const usPerSample = inWindow ? windowUs / inWindow : 0;
  return new Map([...counts].map(([key, n]) => [key, (n * usPerSample) / requests]));
}

export function compare(a: Map<string, number>, b: Map<string, number>) {
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((frame) => ({ frame, a: a.get(frame) ?? 0, b: b.get(frame) ?? 0 }));
  rows.sort((x, y) => y.b - y.a - (x.b - x.a));
  const busy = (m: Map<string, number>) => [...m].reduce((sum, [k, v]) => (k.startsWith('(idle)') ? sum : sum + v), 0);
  return { busyA: busy(a), busyB: busy(b), rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    options: { window: { type: 'string', default: '6' }, top: { type: 'string', default: '25' } },
    allowPositionals: true,
  });
  if (positionals.length !== 2) {
    console.error('usage: profile-diff.ts [--window SECONDS] [--top N] A.cpuprofile:REQUESTS B.cpuprofile:REQUESTS');
    process.exit(2);
  }
  const windowUs = Number(values.window) * 1e6;
  const [a, b] = positionals.map((arg) => {
    const at = arg.lastIndexOf(':');
    const requests = Number(arg.slice(at + 1));
    if (at < 0 || !(requests > 0)) {
      console.error(`${arg}: expected FILE:REQUESTS`);
      process.exit(2);
    }
    return selfPerRequest(JSON.parse(readFileSync(arg.slice(0, at), 'utf8')) as CpuProfile, windowUs, requests);
  }) as [Map<string, number>, Map<string, number>];
  const { busyA, busyB, rows } = compare(a, b);
  console.log(
    `busy CPU per request: A ${busyA.toFixed(2)} µs, B ${busyB.toFixed(2)} µs (B − A ${(busyB - busyA).toFixed(2)})`,
  );
  console.log('   B−A       A       B  frame (self time, µs per request)');
  for (const row of rows.slice(0, Number(values.top))) {
    console.log(
      `${(row.b - row.a).toFixed(2).padStart(6)} ${row.a.toFixed(2).padStart(7)} ${row.b.toFixed(2).padStart(7)}  ${row.frame}`,
    );
  }
}
