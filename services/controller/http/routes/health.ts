/** `GET /healthz` (liveness, open; says whether this controller serves, is the standby or is stopping) and `GET /metrics` (Prometheus text, behind the API key). */
import { IRouter, RequestHandler } from "express";
import { AppDeps } from "../deps";

export function healthRoutes(
  router: IRouter,
  deps: Pick<AppDeps, "instanceId" | "metrics" | "queue" | "results" | "serving">,
  apiKey: RequestHandler,
): void {
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok", instanceId: deps.instanceId(), serving: deps.serving?.() ?? "serving" });
  });

  // Behind the key: the metrics name every function and show the platform's load (Prometheus sends
  // it with `authorization: { credentials: <key> }`).
  router.get("/metrics", apiKey, async (_req, res) => {
    deps.metrics.syncWaiters.set(deps.results.size);
    const depth = deps.queue.approximateDepth();
    if (depth !== undefined) deps.metrics.queueDepth.set(depth);
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
