/** Workers' heartbeats (`POST /api/worker/heartbeat`, with the worker secret) and the registry's view. */
import { IRouter, RequestHandler } from "express";
import { HEADER, Heartbeat } from "../../../../contracts";
import { UnauthorizedError } from "../../errors";
import { secretMatches } from "../auth";
import { AppDeps } from "../deps";
import { parseJsonBody } from "../request";

/** `POST /api/worker/heartbeat`: on the private listener when there is one (FAAS_PRIVATE_PORT). */
export function heartbeatRoute(
  router: IRouter,
  deps: Pick<AppDeps, "instanceId" | "workerSecret" | "registry" | "heartbeatIntervalMs">,
  heartbeatBody: RequestHandler,
): void {
  // The body is read before the secret is checked, as it always was: an oversized heartbeat is a 413.
  router.post("/api/worker/heartbeat", heartbeatBody, (req, res) => {
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
}

/** `GET /api/workers`: the registry's view, behind the API key. */
export function workerListRoute(
  router: IRouter,
  deps: Pick<AppDeps, "instanceId" | "registry">,
  apiKey: RequestHandler,
): void {
  router.get("/api/workers", apiKey, (_req, res) => {
    res.json(deps.registry.list(deps.instanceId()));
  });
}
