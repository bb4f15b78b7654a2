import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  headers: Record<string, string>;
  /** Header lines in the order sent, `date` left out (it is the only line that differs by time). */
  lines: string[];
  body: Buffer;
}

/** Send bytes as they are (no client-side validation) and read one response until the server closes. */
export function rawRequest(url: string, request: string | Buffer): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split === -1 ? all.length : split).toString('latin1');
      const [statusLine = '', ...rest] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of rest) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        head,
        headers,
        lines: rest.filter((line) => !/^date:/i.test(line)),
        body: split === -1 ? Buffer.alloc(0) : all.subarray(split + 4),
      });
    });
    socket.write(request);
  });
}

export const httpGet = (path: string, headers: Record<string, string> = {}) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}Connection: close\r\n\r\n`;
