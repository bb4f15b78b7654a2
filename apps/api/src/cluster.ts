import cluster, { type Worker } from 'node:cluster';
import type { Config } from '@snapboard/shared';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { type Admission, type ConnectionGate, createConnectionLedger } from './ws/admission.ts';

/**
 * API_PROCESSES > 1 (SPEC §12, decision 0013): node:cluster runs that many API processes on one port.
 * Each keeps its own replica, sockets and Redis connections, exactly as a lone API process does. The
 * primary serves nothing; it holds what must be one for the port as a whole:
 * - the WebSocket connection ledger (WS_MAX_CONNECTIONS and _PER_IP), asked on every upgrade;
 * - /metrics: the process that gets the scrape asks the primary, which gathers every process's
 *   registry (prom-client's AggregatorRegistry) and answers with the sum;
 * - the lifecycle: a process that dies is replaced, and SIGTERM/SIGINT drains every process.
 */

type ToPrimary =
  | { snapboard: 'admit'; id: number; ip: string }
  | { snapboard: 'release'; ip: string }
  | { snapboard: 'scrape'; id: number };

type ToProcess =
  | { snapboard: 'admitted'; id: number; verdict: Admission }
  | { snapboard: 'scraped'; id: number; text?: string; error?: string };

const isMessage = (value: unknown): value is { snapboard: string } =>
  typeof value === 'object' && value !== null && typeof (value as { snapboard?: unknown }).snapboard === 'string';

/** How long a process may take to drain after SIGTERM before the primary kills it. */
const DRAIN_LIMIT_MS = 15_000;
/** A process that died is replaced after this long (not in a tight loop if it dies at start). */
const RESPAWN_DELAY_MS = 1000;

export async function runApiPrimary(options: { config: Config; logger: Logger }): Promise<void> {
  const { config, logger } = options;
  const ledger = createConnectionLedger({ total: config.wsMaxConnections, perIp: config.wsMaxConnectionsPerIp });
  /** Connections each process holds, by address: released when the process dies. */
  const held = new Map<number, Map<string, number>>();
  const aggregator = new AggregatorRegistry();
  let stopping = false;

  const reply = (worker: Worker, message: ToProcess) => {
    if (worker.isConnected()) worker.send(message);
  };

  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToPrimary;
    const mine = held.get(worker.id) ?? new Map<string, number>();
    held.set(worker.id, mine);
    if (m.snapboard === 'admit') {
      const verdict = stopping ? 'total_limit' : ledger.admit(m.ip);
      if (verdict === 'ok') mine.set(m.ip, (mine.get(m.ip) ?? 0) + 1);
      reply(worker, { snapboard: 'admitted', id: m.id, verdict });
    } else if (m.snapboard === 'release') {
      const count = mine.get(m.ip);
      if (count === undefined) return;
      if (count > 1) mine.set(m.ip, count - 1);
      else mine.delete(m.ip);
      ledger.release(m.ip);
    } else if (m.snapboard === 'scrape') {
      aggregator.clusterMetrics().then(
        (text) => reply(worker, { snapboard: 'scraped', id: m.id, text }),
        (error: Error) => reply(worker, { snapboard: 'scraped', id: m.id, error: error.message }),
      );
    }
  });

  const fork = () => cluster.fork();
  let serving = false;
  cluster.on('exit', (worker, code, signal) => {
    for (const [ip, count] of held.get(worker.id) ?? []) for (let i = 0; i < count; i++) ledger.release(ip);
    held.delete(worker.id);
    if (stopping) return;
    if (!serving) {
      // It could not start (a port in use, Redis settings): the others would fail the same way.
      logger.fatal({ pid: worker.process.pid, code, signal }, 'an api process failed to start');
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
      process.exit(1);
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'api process died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, RESPAWN_DELAY_MS).unref();
  });

  const listening = new Promise<string>((resolve) => {
    let count = 0;
    cluster.on('listening', (_worker, address) => {
      if (++count === config.apiProcesses) resolve(`http://${config.host}:${address.port}`);
    });
  });
  for (let i = 0; i < config.apiProcesses; i++) fork();
  const url = await listening;
  serving = true;
  logger.info({ url, processes: config.apiProcesses, pid: process.pid }, 'api processes listening');

  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining every api process');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const codes = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<number>((resolve) => {
            if (worker.isDead()) return resolve(0);
            const kill = setTimeout(() => worker.process.kill('SIGKILL'), DRAIN_LIMIT_MS);
            worker.once('exit', (code) => {
              clearTimeout(kill);
              resolve(code ?? 1);
            });
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    const failed = codes.filter((code) => code !== 0).length;
    if (failed) logger.error({ failed }, 'some api processes did not stop cleanly');
    else logger.info('stopped');
    process.exit(failed ? 1 : 0);
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

/** In an API process under the primary: ask it, with a deadline, and match the answer by id. */
function createPrimaryLink() {
  let nextId = 0;
  const pending = new Map<number, (message: ToProcess) => void>();
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToProcess;
    if ('id' in m) pending.get(m.id)?.(m);
  });
  return {
    ask(message: { snapboard: 'admit'; ip: string } | { snapboard: 'scrape' }, timeoutMs: number): Promise<ToProcess> {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('the api primary did not answer'));
        }, timeoutMs);
        pending.set(id, (answer) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(answer);
        });
        process.send?.({ ...message, id } satisfies ToPrimary);
      });
    },
    tell(message: ToPrimary) {
      process.send?.(message);
    },
  };
}

export interface ClusterProcessDeps {
  gate: ConnectionGate;
  scrape(): Promise<string>;
  /** Call once the registry exists: the primary then gathers it into every scrape. */
  shareRegistry(registry: Registry): void;
}

export function clusterProcessDeps(): ClusterProcessDeps {
  const link = createPrimaryLink();
  return {
    gate: {
      async admit(ip) {
        const answer = await link.ask({ snapboard: 'admit', ip }, 2000);
        return answer.snapboard === 'admitted' ? answer.verdict : 'total_limit';
      },
      release(ip) {
        link.tell({ snapboard: 'release', ip });
      },
    },
    async scrape() {
      const answer = await link.ask({ snapboard: 'scrape' }, 6000);
      if (answer.snapboard !== 'scraped' || answer.text === undefined) {
        throw new Error(answer.snapboard === 'scraped' ? answer.error : 'no metrics');
      }
      return answer.text;
    },
    shareRegistry(registry) {
      // Constructing one installs prom-client's answer to the primary's requests in this process.
      new AggregatorRegistry();
      AggregatorRegistry.setRegistries([registry]);
    },
  };
}
