import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * The TCP addresses a process listens on, read from Linux's /proc: its socket inodes from
 * /proc/<pid>/fd, matched against the LISTEN rows of /proc/net/tcp and tcp6. This sees every listening
 * socket, whatever the process logs or claims.
 */
export async function listeningAddresses(pid: number): Promise<{ address: string; port: number }[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1]) inodes.add(match[1]);
  }
  const found: { address: string; port: number }[] = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      const [local, state, inode] = [cols[1], cols[3], cols[9]];
      if (!local || state !== '0A' || !inode || !inodes.has(inode)) continue;
      const [hexAddress = '', hexPort = '0'] = local.split(':');
      found.push({ address: v6 ? decodeV6(hexAddress) : decodeV4(hexAddress), port: Number.parseInt(hexPort, 16) });
    }
  }
  return found;
}

/** /proc/net/tcp writes the address as a little-endian 32-bit hex number. */
function decodeV4(hex: string): string {
  const bytes = hex.match(/../g) ?? [];
  return bytes
    .map((b) => Number.parseInt(b, 16))
    .reverse()
    .join('.');
}

function decodeV6(hex: string): string {
  // Four little-endian 32-bit words; enough to tell ::, ::1 and v4-mapped addresses apart.
  const words = (hex.match(/.{8}/g) ?? []).map((w) => (w.match(/../g) ?? []).reverse().join(''));
  const full = words.join('');
  if (/^0+$/.test(full)) return '::';
  if (/^0{31}1$/.test(full)) return '::1';
  if (full.startsWith('00000000000000000000ffff')) return `::ffff:${decodeV4(hex.slice(24))}`;
  return full.replace(/(.{4})(?!$)/g, '$1:');
}
