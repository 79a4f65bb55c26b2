/** Redis as a child process on 127.0.0.1 (no persistence: the dev environment's results are throwaway). */
import { findOnPath } from "./aws-emulator";
import { ManagedProcess } from "./managed-process";
import { assertPortFree, PrerequisiteError, waitForPort } from "./ports";

export interface RedisHandle {
  url: string;
  port: number;
  process?: ManagedProcess;
  stop(): Promise<void>;
}

export async function startRedis(
  port: number,
  label: Record<string, string>,
  onLine: (name: string, line: string, stream: "stdout" | "stderr") => void,
): Promise<RedisHandle> {
  const command = findOnPath("redis-server");
  if (command === undefined) {
    throw new PrerequisiteError(
      "redis-server is not installed: `apt-get install -y redis-server` (or set FAAS_REDIS_URL to a running Redis)",
    );
  }
  await assertPortFree(port, "Redis", "FAAS_REDIS_PORT");
  const proc = new ManagedProcess({
    name: "redis",
    command,
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--loglevel",
      "warning",
    ],
    env: { ...process.env, ...label },
    onLine,
  });
  await waitForPort(port, 10_000, () => proc.running).catch((err: unknown) => {
    throw new PrerequisiteError(`redis-server did not start on port ${port}: ${String(err)}`);
  });
  return { url: `redis://127.0.0.1:${port}`, port, process: proc, stop: () => proc.stop() };
}
