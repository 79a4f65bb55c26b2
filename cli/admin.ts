import { loadCliConfig, pidAlive, readDevState } from "./config";
import { UserError } from "./errors";

/** A call to the running dev environment's control API. */
export async function adminRequest(method: string, path: string): Promise<unknown> {
  const state = readDevState(loadCliConfig());
  if (state === undefined || !pidAlive(state.pid))
    throw new UserError("no environment is running: `make dev` starts one");
  if (!state.ready) throw new UserError(`environment ${state.envId} is still starting`);
  const res = await fetch(`${state.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${state.adminToken}` },
  });
  const body = (await res.json()) as { error?: { message: string } };
  if (!res.ok) throw new UserError(body.error?.message ?? `the environment answered ${res.status}`);
  return body;
}
