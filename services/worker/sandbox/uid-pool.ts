/**
 * Host uids for sandboxes, one per live function process, from a range no user of the machine has
 * (FAAS_SANDBOX_UID_BASE, default 100000; the AWS firewall rules name the same range). Two function
 * processes never share a uid while both live, so neither can signal, trace or read the other even
 * if they met outside their namespaces. A uid is handed out again only after its sandbox is gone.
 */
export class UidPool {
  private readonly used = new Set<number>();
  private next = 0;

  constructor(
    readonly base: number,
    readonly count: number,
  ) {}

  take(): number {
    for (let i = 0; i < this.count; i++) {
      const uid = this.base + ((this.next + i) % this.count);
      if (!this.used.has(uid)) {
        this.used.add(uid);
        this.next = (this.next + i + 1) % this.count;
        return uid;
      }
    }
    throw new Error(`all ${this.count} sandbox uids from ${this.base} are in use`);
  }

  give(uid: number): void {
    this.used.delete(uid);
  }
}
