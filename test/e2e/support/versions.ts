/**
 * Watches for a version going backwards: feed it every (section, epoch, version) observed, in the
 * order observed, from any source (announcements, Redis reads, HTTP answers, socket frames).
 */
export class VersionMonitor {
  private readonly last = new Map<string, { epoch: string; version: number }>();
  readonly violations: string[] = [];
  observations = 0;

  observe(source: string, section: string, epoch: string, version: number): void {
    this.observations++;
    const key = `${source}|${section}`;
    const previous = this.last.get(key);
    if (previous && previous.epoch === epoch && version < previous.version) {
      this.violations.push(`${source} ${section}: ${previous.version} then ${version} (epoch ${epoch})`);
    }
    this.last.set(key, { epoch, version });
  }
}
