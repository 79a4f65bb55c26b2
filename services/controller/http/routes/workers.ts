/** Workers' heartbeats (`POST /api/worker/heartbeat`, with the worker secret) and the registry's view. */
import { IRouter, RequestHandler } from "express";
import { HEADER, Heartbeat } from "../../../../contracts";
import { UnauthorizedError } from "../../errors";
import { secretMatches } from "../auth";
import { AppDeps } from "../deps";
import { parseJsonBody } from "../request";

export function workerRoutes(
  router: IRouter,
  deps: Pick<AppDeps, "instanceId" | "workerSecret" | "registry" | "heartbeatIntervalMs">,
  guards: { apiKey: RequestHandler; heartbeatBody: RequestHandler },
): void {
  // The body is read before the secret is checked, as it always was: an oversized heartbeat is a 413.
  router.post("/api/worker/heartbeat", guards.heartbeatBody, (req, res) => {
    if (!secretMatches(req.get(HEADER.workerSecret), deps.workerSecret)) {
      throw new UnauthorizedError(`missing or wrong ${HEADER.workerSecret} header`);
    }
    const beat = parseJsonBody(req, Heartbeat);
    const registered = deps.registry.heartbeat(beat);
    res.json({
      controllerInstanceId: deps.instanceId(),
      heartbeatIntervalMs: deps.heartbeatIntervalMs,
      registered,
    });
  });

  router.get("/api/workers", guards.apiKey, (_req, res) => {
    res.json(deps.registry.list(deps.instanceId()));
  });
}
