/**
 * The AWS emulator: moto server as a child process on 127.0.0.1, unless an endpoint is given.
 * Where moto differs from AWS: its EC2 instances never run anything, its instance metadata endpoint
 * returns the static id `i-fake` (so each instance gets its own metadata server, metadata-server.ts),
 * and it keeps an Elastic IP associated with a terminated instance (fleet.ts disassociates it).
 */
import { execFileSync } from "node:child_process";
import { ManagedProcess } from "./managed-process";
import { assertPortFree, PrerequisiteError, waitForPort } from "./ports";

export interface AwsEmulator {
  endpoint: string;
  process?: ManagedProcess;
  stop(): Promise<void>;
}

export async function startMoto(
  port: number,
  label: Record<string, string>,
  onLine: (name: string, line: string, stream: "stdout" | "stderr") => void,
): Promise<AwsEmulator> {
  const command = findOnPath("moto_server");
  if (command === undefined) {
    throw new PrerequisiteError(
      "moto_server is not installed: `pip install 'moto[server]'` (or use a running AWS emulator: `faas dev up --aws-endpoint <url>`)",
    );
  }
  await assertPortFree(port, "AWS emulator (moto)", "--moto-port");
  const proc = new ManagedProcess({
    name: "moto",
    command,
    args: ["-H", "127.0.0.1", "-p", String(port)],
    env: { ...process.env, ...label },
    onLine: (name, line, stream) => {
      // moto logs every request on stderr; only its problems belong in the stream.
      if (!/HTTP\/1\.1" [23]\d\d/.test(line) && !/Running on|CTRL\+C|development server/.test(line))
        onLine(name, line, stream);
    },
  });
  await waitForPort(port, 20_000, () => proc.running).catch((err: unknown) => {
    throw new PrerequisiteError(`moto server did not start on port ${port}: ${String(err)}`);
  });
  return { endpoint: `http://127.0.0.1:${port}`, process: proc, stop: () => proc.stop() };
}

export function findOnPath(command: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}
