/**
 * A controller's role when it runs with a standby (FAAS_EIP_MODE=lease): it is active while it holds
 * the lease (active-lease.ts), and only the active one claims the Elastic IP and serves the API. The
 * standby asks for the lease every `renewMs`; when the active stops renewing (killed, paused, cut off),
 * the lease expires after `leaseMs` and the standby takes it, claims the address with
 * AssociateAddress (AllowReassociation) and serves.
 *
 * Fencing: the Elastic IP is the fence — traffic reaches only the instance it is associated with, and
 * only a lease holder associates it. A controller that finds another holder at its next tick stops
 * serving at once (a paused active, resumed: at most `renewMs` after it runs again; meanwhile the
 * address already points elsewhere). A claim delayed past its own term (the claimant paused between
 * its tick and AssociateAddress) could take the address back from the newer holder: the holder checks
 * the association every `verifyEveryMs` and claims again, so that lasts at most that long. While Redis
 * is unreachable nothing changes hands: the active keeps serving, the standby keeps waiting.
 */
import { sleep } from "../common/backoff";
import { Logger } from "../common/logger";
import { ActiveLease } from "./active-lease";

export type ControllerRoleName = "active" | "standby" | "draining";

export interface ControllerRoleOptions {
  lease: Pick<ActiveLease, "tick" | "release" | "holder">;
  renewMs: number;
  /** Claims the Elastic IP for this instance, retrying until done or aborted. */
  claim: (signal: AbortSignal) => Promise<void>;
  /** Whether the Elastic IP points to this instance now. */
  holdsAddress: () => Promise<boolean>;
  verifyEveryMs: number;
  log: Logger;
  onChange?: (role: ControllerRoleName, epoch: number) => void;
}

export class ControllerRole {
  private current: ControllerRoleName = "standby";
  private term = 0;
  private claiming: AbortController | undefined;
  private claimed: Promise<void> | undefined;
  private lastVerified = 0;
  private redisDown = false;

  constructor(private readonly o: ControllerRoleOptions) {}

  get role(): ControllerRoleName {
    return this.current;
  }

  get epoch(): number {
    return this.term;
  }

  /** Ticks until the signal aborts or the controller drains. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.current !== "draining") {
      await this.tick();
      await sleep(this.o.renewMs, signal);
    }
  }

  /** One lease round: take, renew or lose it, and act on the change. */
  async tick(): Promise<void> {
    if (this.current === "draining") return;
    let state;
    try {
      state = await this.o.lease.tick();
    } catch (err) {
      if (!this.redisDown)
        this.o.log.warn(
          { err: String(err), role: this.current },
          "cannot reach Redis for the controller lease: keeping this role until it answers",
        );
      this.redisDown = true;
      return;
    }
    this.redisDown = false;
    // handOver may have run while the lease's answer was on its way.
    if (this.isDraining()) return;
    if (state.held) {
      if (this.current !== "active" || state.taken) this.activate(state.epoch);
      else await this.verify();
    } else if (this.current === "active") {
      this.stepDown(state.holder, state.epoch);
    } else {
      this.term = state.epoch;
    }
  }

  /**
   * A planned stop: stop claiming, give the lease up so the standby takes it at its next tick, and
   * serve nothing more. Resolves once the lease is released (or Redis refused to answer).
   */
  async handOver(): Promise<void> {
    const was = this.current;
    this.current = "draining";
    this.claiming?.abort();
    this.o.onChange?.("draining", this.term);
    if (was !== "active") return;
    const released = await this.o.lease.release().catch(() => false);
    this.o.log.info({ epoch: this.term, released }, "handed the controller lease over");
  }

  private isDraining(): boolean {
    return this.current === "draining";
  }

  private activate(epoch: number): void {
    this.current = "active";
    this.term = epoch;
    this.o.log.info({ epoch }, "took the controller lease: claiming the Elastic IP");
    this.o.onChange?.("active", epoch);
    this.startClaim();
  }

  private stepDown(holder: string, epoch: number): void {
    this.current = "standby";
    this.claiming?.abort();
    this.o.log.warn(
      { holder, epoch, ownEpoch: this.term },
      "another controller holds the lease: stepping down to standby",
    );
    this.term = epoch;
    this.o.onChange?.("standby", epoch);
  }

  private startClaim(): void {
    this.claiming?.abort();
    const claiming = new AbortController();
    this.claiming = claiming;
    this.claimed = this.o
      .claim(claiming.signal)
      .then(() => {
        this.lastVerified = Date.now();
      })
      .catch((err: unknown) => {
        if (!claiming.signal.aborted)
          this.o.log.error({ err: String(err) }, "could not claim the Elastic IP");
      })
      .finally(() => {
        if (this.claiming === claiming) this.claimed = undefined;
      });
  }

  /** Every `verifyEveryMs`, while active and not claiming: the address still points here, or claim again. */
  private async verify(): Promise<void> {
    if (this.claimed !== undefined || Date.now() - this.lastVerified < this.o.verifyEveryMs) return;
    this.lastVerified = Date.now();
    const holds = await this.o.holdsAddress().catch(() => true);
    if (holds || this.current !== "active") return;
    this.o.log.warn(
      { epoch: this.term },
      "the Elastic IP points elsewhere although this controller holds the lease: claiming it again",
    );
    this.startClaim();
  }
}
