/**
 * Per-function metrics from the results channel, without trusting the channel with label values. A
 * result counts under its function only when this controller accepted that invocation (the label is
 * then the name it accepted, not the one in the message) or, for invocations a previous controller
 * accepted, when the function exists; anything else is counted once, unlabelled, in
 * `faas_results_unattributed_total`.
 */
import { InvocationResult } from "../../contracts";
import { Logger } from "../common/logger";
import { InflightTracker } from "./inflight";
import { KnownFunctions } from "./known-functions";
import { Metrics } from "./metrics";

export class ResultMetrics {
  constructor(
    private readonly inflight: InflightTracker,
    private readonly known: Pick<KnownFunctions, "has">,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Also ends the invocation's in-flight entry, which frees its concurrency slot. */
  observe(result: InvocationResult): void {
    const accepted = this.inflight.release(result.invocationId);
    if (accepted !== undefined) {
      this.count(accepted, result);
      return;
    }
    void this.known
      .has(result.function)
      .then((exists) => {
        if (exists) this.count(result.function, result);
        else this.metrics.resultsUnattributed.inc();
      })
      .catch((err: unknown) => this.log.warn({ err: String(err) }, "could not attribute a result"));
  }

  private count(fn: string, result: InvocationResult): void {
    this.metrics.invocations.inc({ function: fn, outcome: result.status });
    this.metrics.duration.observe({ function: fn }, result.durationMs / 1000);
    if (result.coldStart) this.metrics.coldStarts.inc({ function: fn });
  }
}
