/**
 * Who may open a WebSocket (WS_MAX_CONNECTIONS, WS_MAX_CONNECTIONS_PER_IP), as one ledger of who
 * holds how many. With one API process the ledger lives in it; with API_PROCESSES > 1 the primary
 * of node:cluster holds the only one and each process asks it (cluster.ts), so the limits hold for
 * the port as a whole rather than per process (SPEC §12).
 */

export type Admission = 'ok' | 'total_limit' | 'per_ip_limit';

export interface ConnectionLimits {
  total: number;
  perIp: number;
}

export interface ConnectionLedger {
  /** Count one more connection from `ip` if the limits allow it. */
  admit(ip: string): Admission;
  /** One connection from `ip` closed. */
  release(ip: string): void;
  readonly total: number;
}

export function createConnectionLedger(limits: ConnectionLimits): ConnectionLedger {
  const perIp = new Map<string, number>();
  let total = 0;
  return {
    admit(ip) {
      if (total >= limits.total) return 'total_limit';
      const fromIp = perIp.get(ip) ?? 0;
      if (fromIp >= limits.perIp) return 'per_ip_limit';
      total++;
      perIp.set(ip, fromIp + 1);
      return 'ok';
    },
    release(ip) {
      const held = perIp.get(ip);
      if (held === undefined) return;
      total--;
      if (held > 1) perIp.set(ip, held - 1);
      else perIp.delete(ip);
    },
    get total() {
      return total;
    },
  };
}

/** What the WebSocket server asks before it accepts an upgrade: answered at once, or by the primary. */
export interface ConnectionGate {
  admit(ip: string): Admission | Promise<Admission>;
  release(ip: string): void;
}
