/**
 * The local deploy runner's state file (in the Terraform working directory of `make deploy
 * TARGET=local`, beside the state it boots): written once the deployed platform serves, removed when
 * the runner stops. `faas local-deploy down` and `make destroy TARGET=local` find the runner by it.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

export const LocalDeployState = z.object({
  envId: z.string(),
  pid: z.number(),
  name: z.string(),
  endpoint: z.string(),
  apiKey: z.string(),
  /** The SHA-256 of the API's self-signed certificate, which clients pin (tls_mode = self-signed). */
  tlsFingerprint: z.string().optional(),
  ready: z.boolean(),
  startedAt: z.number(),
  /** How long from the runner's start until the first worker had registered through the edge. */
  readyMs: z.number().optional(),
});
export type LocalDeployState = z.infer<typeof LocalDeployState>;

export function readLocalDeployState(file: string): LocalDeployState | undefined {
  try {
    return LocalDeployState.parse(JSON.parse(readFileSync(file, "utf8")));
  } catch {
    return undefined;
  }
}

export function writeLocalDeployState(file: string, state: LocalDeployState): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // The API key is the local cloud's test value (localcloud.auto.tfvars), still kept from other users.
  writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
}
