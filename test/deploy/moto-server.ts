/**
 * A moto server of the suite's own on a free 127.0.0.1 port: the emulator's (emulator/aws-emulator.ts,
 * a labelled child process stopped by its pid), waited for with the project's wait library. Fixture for
 * the deploy tests; `using`-style disposal via Symbol.asyncDispose.
 *
 * Not the integration run's shared moto (test/fixtures/shared-services.ts): Terraform applies the real
 * configuration here, whose names are fixed (`faas-*`), and the tests read the whole account back
 * (every VPC, every address), so each file keeps an account of its own.
 */
import { spawnSync } from "node:child_process";
import { startMoto as startMotoProcess } from "../../emulator/aws-emulator";
import { freePort } from "../../emulator/ports";
import { httpAnswers, waitFor } from "../../emulator/wait";

export interface MotoServer extends AsyncDisposable {
  endpoint: string;
  stop(): Promise<void>;
}

export function hasCommand(name: string): boolean {
  return spawnSync("bash", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

export async function startMoto(): Promise<MotoServer> {
  const lines: string[] = [];
  const moto = await startMotoProcess(
    await freePort(),
    { FAAS_ENV_ID: `faas-deploy-test-${process.pid}` },
    (_name, line) => {
      lines.push(line);
      if (lines.length > 50) lines.shift();
    },
  );
  const stop = () => moto.stop();
  try {
    // It listens before its routes are loaded: its own API answering is the sign it is ready.
    await waitFor("moto's API", httpAnswers(`${moto.endpoint}/moto-api/`), {
      timeoutMs: 30_000,
      intervalMs: 200,
      abortIf: () =>
        moto.process?.running === false ? `moto_server exited: ${lines.join("\n")}` : undefined,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint: moto.endpoint, stop, [Symbol.asyncDispose]: stop };
}

/**
 * A Query-protocol call (Auto Scaling, IAM, ELB) to moto, for services this repository has no SDK
 * client for. moto routes by the credential scope in the Authorization header and does not check the
 * signature.
 */
export async function queryApi(
  endpoint: string,
  service: string,
  version: string,
  params: Record<string, string>,
): Promise<string> {
  const body = new URLSearchParams({ Version: version, ...params }).toString();
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${params.Action ?? "?"} failed: ${res.status} ${text}`);
  return text;
}

/** Every text content of <tag> in an XML answer. */
export const xmlValues = (xml: string, tag: string): string[] =>
  [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((m) => m[1] ?? "");
