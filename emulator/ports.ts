import net from "node:net";
import { tcpListening, waitFor } from "./wait";

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Fails with a message naming the port and how to free it, when something already listens there. */
export async function assertPortFree(port: number, what: string, flag: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        new PrerequisiteError(
          err.code === "EADDRINUSE"
            ? `port ${port} (${what}) is already in use: stop whatever listens there (\`ss -ltnp 'sport = :${port}'\` shows it), or choose another port: \`faas dev up ${flag} <port>\` (\`make dev DEV_ARGS='${flag} <port>'\`)`
            : `cannot listen on 127.0.0.1:${port} for ${what}: ${err.message}`,
        ),
      );
    });
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

/** Waits until something listens on 127.0.0.1:port, giving up as soon as `isAlive` says the process died. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<void> {
  await waitFor(`a listener on 127.0.0.1:${port}`, tcpListening(port), {
    timeoutMs,
    intervalMs: 50,
    abortIf: () => (isAlive() ? undefined : "the process exited before it listened"),
  });
}

/** A missing tool, a taken port: something the user must fix, said in one clear line. */
export class PrerequisiteError extends Error {
  override readonly name = "PrerequisiteError";
}
