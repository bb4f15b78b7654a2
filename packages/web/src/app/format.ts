/** Number and time formatting for a trading screen: fixed decimals, signed P&L, a true minus sign. */

const MINUS = '\u2212';

const usd2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export type Sign = 'up' | 'down' | 'flat';

// Below half a cent (or half a basis point) a figure shows as zero, so it carries no sign or colour.
const EPSILON = 0.005;

export function signOf(value: number | null | undefined): Sign {
  if (value === null || value === undefined || !Number.isFinite(value) || Math.abs(value) < EPSILON) return 'flat';
  return value > 0 ? 'up' : 'down';
}

const withSign = (value: number, body: string, signed: boolean) => {
  if (Math.abs(value) < EPSILON) return body;
  return value < 0 ? `${MINUS}${body}` : signed ? `+${body}` : body;
};

export function money(value: number | null | undefined, options: { signed?: boolean } = {}): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return withSign(value, `$${usd2.format(Math.abs(value))}`, options.signed ?? false);
}

/** Axis labels: $12.3K. */
export function moneyCompact(value: number): string {
  return withSign(value, `$${compact.format(Math.abs(value))}`, false);
}

export function percent(value: number | null | undefined, options: { signed?: boolean; digits?: number } = {}): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const digits = options.digits ?? 2;
  return withSign(value, `${Math.abs(value).toFixed(digits)}%`, options.signed ?? false);
}

/** Prices span BTC (64 000) to TRX (0.12): keep about six significant digits. */
export function price(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 2 : abs >= 10 ? 3 : abs >= 1 ? 4 : 6;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return int.format(value);
}

export function ratio(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toFixed(2);
}

/** 4s, 2m 05s, 3h 12m, 2d 4h. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function hours(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return duration(value * 3_600_000);
}

export function clockTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '—';
  return at.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '—';
  return at.toLocaleString('en-GB', { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit' });
}
