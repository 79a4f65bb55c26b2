/**
 * The controller's HTTP API (docs/openapi.yaml): the middleware every request passes
 * (request metrics, the API key, a body limit per route), the routes of routes/, and the error handler
 * that turns whatever a route throws into the API's error shape (error-response.ts).
 *
 * The route modules add their routes to the app itself rather than being mounted as nested
 * express.Routers: a nested router answers an OPTIONS request on its paths itself (200 and `Allow`),
 * where this API answers 404 for every method it does not serve.
 */
import express from "express";
import { NotFoundError, NotServingError } from "../errors";
import { bearerAuth } from "./auth";
import { AppDeps } from "./deps";
import { errorHandler } from "./error-response";
import { FunctionCache } from "./function-cache";
import { rawBody } from "./request";
import { functionRoutes } from "./routes/functions";
import { healthRoutes } from "./routes/health";
import { invocationRoutes } from "./routes/invocations";
import { heartbeatRoute, workerListRoute } from "./routes/workers";

export type { AppDeps } from "./deps";

const HEARTBEAT_MAX_BYTES = 64 * 1024;

/**
 * Which routes a listener serves: `all` (one listener, as in the seed), `public` (everything but the
 * workers' heartbeat) or `private` (the heartbeat and /healthz only: the listener only workers reach,
 * FAAS_PRIVATE_PORT, so the worker secret's route is not on the internet).
 */
export type Surface = "all" | "public" | "private";

export function createApp(deps: AppDeps, surface: Surface = "all"): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(countRequests(deps));

  const apiKey = bearerAuth(deps.apiKey);
  healthRoutes(app, deps, apiKey);
  app.use(onlyWhileServing(deps));
  if (surface !== "public") heartbeatRoute(app, deps, rawBody(HEARTBEAT_MAX_BYTES));
  if (surface !== "private") {
    const functionCache = new FunctionCache(deps.functions, 2000);
    functionRoutes(app, deps, { apiKey, body: rawBody(deps.limits.maxCodeBytes) }, functionCache);
    invocationRoutes(app, deps, { apiKey, body: rawBody(deps.limits.maxEventBytes) }, functionCache);
    workerListRoute(app, deps, apiKey);
  }

  app.use(() => {
    throw new NotFoundError("no such route");
  });
  app.use(errorHandler(deps.log));
  return app;
}

/**
 * Past /healthz and /metrics, a controller answers only while it serves: a standby or a stopping
 * controller answers 503 with Retry-After, and the caller's retry reaches the one that serves.
 */
function onlyWhileServing(deps: Pick<AppDeps, "serving">): express.RequestHandler {
  return (_req, _res, next) => {
    const state = deps.serving?.() ?? "serving";
    if (state === "serving") {
      next();
      return;
    }
    next(
      new NotServingError(
        state === "standby"
          ? "this controller is the standby: the active controller serves at the Elastic IP; retry"
          : "this controller is stopping; retry shortly",
      ),
    );
  };
}

/** Counts every answer by route pattern (not path: a path names a function) and status. */
function countRequests(deps: Pick<AppDeps, "metrics">): express.RequestHandler {
  return (req, res, next) => {
    res.on("finish", () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? "unmatched";
      deps.metrics.httpRequests.inc({ route: `${req.method} ${route}`, status: String(res.statusCode) });
    });
    next();
  };
}
