import { isCluster, type RedisClient } from './connect.ts';

/**
 * Announcements (SPEC §4, §12): one channel per deployment on which the worker says what it
 * published. On one server (or a Sentinel-managed primary) that is classic pub/sub. In Redis Cluster
 * classic PUBLISH is copied to every node of the cluster whoever listens; sharded pub/sub
 * (SPUBLISH/SSUBSCRIBE, Redis 7) keeps the message on the shard that owns the channel's slot — the
 * `{KEY_PREFIX}` slot, beside the keys it announces — and survives a failover with them.
 */

/** The command that announces on this client: for a Lua script that announces what it wrote. */
export function announceCommand(client: RedisClient): 'SPUBLISH' | 'PUBLISH' {
  return isCluster(client) ? 'SPUBLISH' : 'PUBLISH';
}

/** Announce `message` on `channel`; resolves with the number of subscribers that heard it. */
export function announce(client: RedisClient, channel: string, message: string): Promise<number> {
  const heard = isCluster(client) ? client.spublish(channel, message) : client.publish(channel, message);
  return heard.then(Number);
}

export interface AnnouncementSubscription {
  /** Settles once the subscription is active (rejects when Redis refused it). */
  readonly ready: Promise<void>;
  /**
   * Called whenever the subscription has been re-established after a reconnect or a failover:
   * what was announced in between is lost, so the caller re-reads what it holds.
   */
  onResubscribed(listener: () => void): void;
  /**
   * Stop handling messages. The channel stays subscribed until the caller closes the connection:
   * an UNSUBSCRIBE sent while Redis is away would wait for it forever.
   */
  close(): void;
}

/**
 * Listen on `channel` with a connection made for it (`createRedisClient(…, { subscriber: true })`),
 * which then serves nothing else. ioredis re-subscribes by itself after a reconnect (and, for sharded
 * subscribers, after the cluster moved the slot to a promoted replica).
 */
export function subscribeAnnouncements(
  subscriber: RedisClient,
  channel: string,
  onMessage: (message: string) => void,
): AnnouncementSubscription {
  const sharded = isCluster(subscriber);
  const messageEvent = sharded ? 'smessage' : 'message';
  const resubscribedEvent = sharded ? 'subscribersReady' : 'ready';
  const handler = (from: string, message: string) => {
    if (from === channel) onMessage(message);
  };
  const resubscribed: (() => void)[] = [];
  subscriber.on(messageEvent, handler);
  const ready = (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel)).then(() => undefined);
  return {
    ready,
    onResubscribed(listener) {
      resubscribed.push(listener);
      subscriber.on(resubscribedEvent, listener);
    },
    close() {
      subscriber.off(messageEvent, handler);
      for (const listener of resubscribed) subscriber.off(resubscribedEvent, listener);
    },
  };
}
