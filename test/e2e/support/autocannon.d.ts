// autocannon ships no types; only what load-client.ts uses is declared.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    overallRate?: number;
    timeout?: number;
    requests?: { method?: string; path?: string; headers?: Record<string, string> }[];
  }
  interface Summary {
    requests: { total: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    latency: { p99: number };
  }
  type Instance = EventEmitter & PromiseLike<Summary>;
  export default function autocannon(options: Options): Instance;
}
