import { connect } from 'node:net';

/**
 * One HTTP/1.1 request written byte for byte on a fresh socket: no client library in between to
 * normalise, escape or refuse what a hostile client would send. Resolves with the status and the raw
 * answer, or with `status: 0` when the server closed without answering.
 */
export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

export function rawRequest(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(request.toString().slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split) : text;
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split >= 0 ? text.slice(split + 4) : '' });
    });
    socket.write(request);
  });
}

/** A GET with `Connection: close` and the given extra header lines (each "Name: value"). */
export function rawGet(port: number, target: Buffer | string, headerLines: (Buffer | string)[] = []) {
  const parts: Buffer[] = [
    Buffer.from('GET '),
    Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'),
    Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`),
    ...headerLines.map((line) =>
      Buffer.concat([Buffer.isBuffer(line) ? line : Buffer.from(line, 'latin1'), Buffer.from('\r\n')]),
    ),
    Buffer.from('\r\n'),
  ];
  return rawRequest(port, Buffer.concat(parts));
}
