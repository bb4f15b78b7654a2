/**
 * Per-connection command limits (SPEC §13, docs/decisions/0011-bounded-refresh-and-socket-limits.md).
 * Two token buckets per socket: commands (WS_COMMANDS_PER_SECOND, burst twice that) and the bytes
 * written in answer to them (WS_ANSWER_BYTES_PER_SECOND, burst four times that). A subscribe without
 * versions legitimately answers every section, so the byte bucket, not the command count, is what
 * bounds the amplification. Pushed changes are not charged: the client did not ask for them.
 */

export interface CommandLimits {
  commandsPerSecond: number;
  answerBytesPerSecond: number;
  /** At most one `rate_limited` error frame per this many ms. */
  noticeIntervalMs: number;
  /** Over a limit continuously for this long: closed with 1008. */
  abuseCloseMs: number;
}

export const COMMAND_BURST_FACTOR = 2;
export const ANSWER_BURST_FACTOR = 4;
/** An over-limit episode ends once this long passes without a dropped command. */
const QUIET_MS = 1000;

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
  }

  /** Whether `cost` fits now. A cost above the capacity fits a full bucket, or it never would. */
  fits(cost: number, now: number): boolean {
    this.refill(now);
    return this.tokens >= cost || this.tokens >= this.capacity;
  }

  take(cost: number): void {
    this.tokens -= cost;
  }
}

export type LimitKind = 'commands' | 'bytes';

export interface Drop {
  /** First drop after a quiet second: log it (once per episode, not per frame). */
  episodeStarted: boolean;
  /** Tell the client `rate_limited` (at most once per noticeIntervalMs). */
  notify: boolean;
  /** Over a limit for abuseCloseMs without a quiet second: close 1008. */
  abusive: boolean;
}

export class ConnectionLimiter {
  private readonly commands: TokenBucket;
  private readonly bytes: TokenBucket;
  private overSince: number | undefined;
  private lastDrop = Number.NEGATIVE_INFINITY;
  private lastNotice = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly limits: CommandLimits,
    now: number,
  ) {
    this.commands = new TokenBucket(limits.commandsPerSecond, limits.commandsPerSecond * COMMAND_BURST_FACTOR, now);
    this.bytes = new TokenBucket(limits.answerBytesPerSecond, limits.answerBytesPerSecond * ANSWER_BURST_FACTOR, now);
  }

  /** One frame arrived: may it be handled at all? */
  admitCommand(now: number): boolean {
    if (!this.commands.fits(1, now)) return false;
    this.commands.take(1);
    return true;
  }

  /** Would an answer of `bytes` fit the byte budget now? */
  admitAnswer(bytes: number, now: number): boolean {
    return this.bytes.fits(bytes, now);
  }

  /** What an admitted command's answer actually wrote. */
  charge(bytes: number): void {
    this.bytes.take(bytes);
  }

  dropped(now: number): Drop {
    const episodeStarted = this.overSince === undefined || now - this.lastDrop > QUIET_MS;
    if (episodeStarted) this.overSince = now;
    this.lastDrop = now;
    const notify = now - this.lastNotice >= this.limits.noticeIntervalMs;
    if (notify) this.lastNotice = now;
    return { episodeStarted, notify, abusive: now - (this.overSince ?? now) >= this.limits.abuseCloseMs };
  }
}
