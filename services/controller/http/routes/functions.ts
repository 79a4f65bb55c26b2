/** Deploy, list, describe and remove functions: `/api/functions[/{name}]`. */
import { Script } from "node:vm";
import { IRouter, RequestHandler } from "express";
import { DeployFunctionRequest } from "../../../../contracts";
import { checkZip, CodeArchiveError } from "../../code-archive";
import { FunctionNotFoundError, InvalidRequestError } from "../../errors";
import { AppDeps } from "../deps";
import { FunctionCache } from "../function-cache";
import { functionNameParam, parseJsonBody } from "../request";

export function functionRoutes(
  router: IRouter,
  deps: Pick<AppDeps, "functions" | "knownFunctions" | "log" | "limits">,
  guards: { apiKey: RequestHandler; body: RequestHandler },
  functionCache: FunctionCache,
): void {
  const { apiKey, body: codeBody } = guards;

  router.put("/api/functions/:name", apiKey, codeBody, async (req, res) => {
    const name = functionNameParam(req);
    const body = parseJsonBody(req, DeployFunctionRequest);
    if (body.source !== undefined) checkSyntax(body.source);
    if (body.zip !== undefined) checkArchive(body.zip, body.handler, deps.limits.maxUnpackedCodeBytes);
    const { record, changed } = await deps.functions.put(name, body);
    functionCache.invalidate(name);
    deps.knownFunctions.added(name);
    deps.log.info({ function: name, version: record.version, changed }, "function deployed");
    res.status(changed && record.version === 1 ? 201 : 200).json(record);
  });

  router.get("/api/functions", apiKey, async (_req, res) => {
    res.json({ functions: await deps.functions.list() });
  });

  router.get("/api/functions/:name", apiKey, async (req, res) => {
    const name = functionNameParam(req);
    const record = await deps.functions.get(name);
    if (record === undefined) throw new FunctionNotFoundError(name);
    res.json(record);
  });

  router.delete("/api/functions/:name", apiKey, async (req, res) => {
    const name = functionNameParam(req);
    const removed = await deps.functions.delete(name);
    functionCache.invalidate(name);
    deps.knownFunctions.removed(name);
    if (!removed) throw new FunctionNotFoundError(name);
    deps.log.info({ function: name }, "function removed");
    res.status(204).end();
  });
}

function checkSyntax(source: string): void {
  try {
    // Compiles without running: a syntax error is the deployer's mistake, so it is a 400 now, not a
    // failure at every invocation later.
    new Script(source, { filename: "index.js" });
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new InvalidRequestError(`the function source does not parse: ${err.message}`);
  }
}

function checkArchive(zipBase64: string, handler: string, maxUnpackedBytes: number): void {
  try {
    checkZip(Buffer.from(zipBase64, "base64"), handler, { maxUnpackedBytes });
  } catch (err) {
    if (err instanceof CodeArchiveError) throw new InvalidRequestError(err.message);
    throw err;
  }
}
