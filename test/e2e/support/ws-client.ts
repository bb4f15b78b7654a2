import WebSocket from 'ws';

/**
 * A minimal WebSocket client for the protocol of SPEC §7: it records every frame it receives (parsed
 * JSON when it is), lets a test wait for one that matches, and reports how the socket closed.
 */

export type Message = Record<string, unknown> & { type?: string };

export interface Closed {
  code: number;
  reason: string;
  atMs: number;
}

export class WsClient {
  readonly messages: Message[] = [];
  /** Frames that were not JSON objects (the server should never send one). */
  readonly garbage: string[] = [];
  readonly closed: Promise<Closed>;
  private closeInfo: Closed | undefined;
  private readonly listeners = new Set<(message: Message) => void>();

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), atMs: Date.now() };
        resolve(this.closeInfo);
      });
    });
    socket.on('error', () => {});
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      let message: Message | undefined;
      try {
        const value: unknown = JSON.parse(text);
        if (value && typeof value === 'object' && !Array.isArray(value)) message = value as Message;
      } catch {}
      if (!message) {
        this.garbage.push(text.slice(0, 200));
        return;
      }
      this.messages.push(message);
      for (const listener of this.listeners) listener(message);
    });
  }

  /** Open a socket; resolves once it is open (rejects on refusal, with the HTTP status if any). */
  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { handshakeTimeout: 10_000, ...options });
      // Attach before 'open' so the server's welcome frame is not missed.
      const client = new WsClient(socket);
      const onError = (error: Error) => reject(error);
      socket.once('unexpected-response', (_req, res) => {
        socket.off('error', onError);
        reject(Object.assign(new Error(`upgrade refused with HTTP ${res.statusCode}`), { status: res.statusCode }));
        res.resume();
        socket.terminate();
      });
      socket.once('error', onError);
      socket.once('open', () => {
        socket.off('error', onError);
        resolve(client);
      });
    });
  }

  get closeStatus(): Closed | undefined {
    return this.closeInfo;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** Messages of one type (and optionally one section) received so far. */
  ofType(type: string, section?: string): Message[] {
    return this.messages.filter((m) => m.type === type && (section === undefined || m.section === section));
  }

  /**
   * The first message at index ≥ `from` that matches, waiting for it if needed. Rejects after
   * `timeoutMs`, or as soon as the socket closes without one.
   */
  waitFor(
    what: string,
    predicate: (message: Message) => boolean,
    { timeoutMs = 10_000, from = 0 } = {},
  ): Promise<Message> {
    const seen = this.messages.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, message?: Message) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (error) reject(error);
        else resolve(message!);
      };
      const listener = (message: Message) => {
        if (predicate(message)) finish(undefined, message);
      };
      const timer = setTimeout(
        () => finish(new Error(`no WebSocket message for ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.listeners.add(listener);
      void this.closed.then((c) => finish(new Error(`socket closed (${c.code} ${c.reason}) before ${what}`)));
    });
  }

  /** Send a subscribe and wait for its `subscribed` answer. */
  async subscribe(
    sections: readonly string[],
    extra: { limit?: number; versions?: Record<string, { epoch: string; version: number }> } = {},
  ): Promise<Message> {
    const from = this.messages.length;
    this.send({ type: 'subscribe', sections, ...extra });
    return this.waitFor('subscribed', (m) => m.type === 'subscribed' || m.type === 'error', { from });
  }

  close(code = 1000): Promise<Closed> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code);
      const timer = setTimeout(() => this.socket.terminate(), 2000);
      void this.closed.then(() => clearTimeout(timer));
    }
    return this.closed;
  }
}
