import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "faas_controller_" });
  return {
    registry,
    invocations: new Counter({
      name: "faas_invocations_total",
      help: "Invocations by function and outcome (accepted, succeeded, failed, timed_out, rejected, throttled; replayed: a repeated Idempotency-Key answered with its first invocation)",
      labelNames: ["function", "outcome"],
      registers: [registry],
    }),
    coldStarts: new Counter({
      name: "faas_cold_starts_total",
      help: "Invocations that started a new function process",
      labelNames: ["function"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "faas_invocation_duration_seconds",
      help: "Function run time measured by the worker",
      labelNames: ["function"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    queueSend: new Histogram({
      name: "faas_queue_send_seconds",
      help: "Latency of SendMessageBatch calls to the task queue",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    workers: new Gauge({
      name: "faas_registered_workers",
      help: "Workers alive in the registry",
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "faas_queue_depth",
      help: "Approximate tasks waiting or in flight on the queue",
      registers: [registry],
    }),
    syncWaiters: new Gauge({
      name: "faas_sync_waiters",
      help: "Synchronous callers waiting for a result",
      registers: [registry],
    }),
    resultsUnattributed: new Counter({
      name: "faas_results_unattributed_total",
      help: "Results on the results channel for an invocation this controller did not accept and a function that does not exist",
      registers: [registry],
    }),
    resultsInvalid: new Counter({
      name: "faas_results_invalid_total",
      help: "Messages on the results channel that are too large or not a valid result (ignored)",
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "faas_dead_letters_total",
      help: "Messages drained from the dead-letter queue: task (recorded as failed) or malformed (deleted)",
      labelNames: ["kind"],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: "faas_http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["route", "status"],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
