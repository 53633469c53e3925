/**
 * Counts open connections per client address, for `maxConnectionsPerAddress`: one client (or one
 * host of a shared CI network) cannot take every connection slot from the others.
 *
 * @example const limit = new AddressLimit(10); if (!limit.take(ip)) refuse(); socket.once('close', () => limit.release(ip));
 */
export class AddressLimit {
  private readonly open = new Map<string, number>();

  /** `limit` 0 means no limit: `take` always succeeds and nothing is counted. */
  constructor(readonly limit: number) {}

  /** Counts one more connection from `address`, or returns false when it already has `limit`. */
  take(address: string): boolean {
    if (this.limit === 0) return true;
    const n = this.open.get(address) ?? 0;
    if (n >= this.limit) return false;
    this.open.set(address, n + 1);
    return true;
  }

  /** A connection from `address` (counted by `take`) has closed. */
  release(address: string): void {
    if (this.limit === 0) return;
    const n = this.open.get(address) ?? 0;
    // Deleted at zero: the map holds only addresses with open connections, so it stays bounded.
    if (n <= 1) this.open.delete(address);
    else this.open.set(address, n - 1);
  }
}
