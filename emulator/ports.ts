import { readFileSync } from "node:fs";
import net from "node:net";
import { claim } from "./host-claims";
import { tcpListening, waitFor } from "./wait";

/** Ports this process has handed out: never twice, even once their first user has closed them. */
const handedOut = new Set<number>();

/**
 * A port free on 127.0.0.1 now, for a server started after this returns (a child process, most
 * often). Chosen below the kernel's ephemeral range: a port from inside it (what listening on port 0
 * gives) can be taken by any outgoing connection between this check and the server's bind, and
 * was, in CI (EADDRINUSE). Falls back to the OS's choice when no port below the range is free.
 *
 * Other processes of the project on this host (two local clouds, test files run side by side) choose
 * from the same range, and their servers bind seconds later (moto starts in 2–3 s): a port handed out
 * is claimed host-wide (host-claims.ts) for CLAIM_MS, and a port another process claimed is skipped.
 */
export async function freePort(): Promise<number> {
  const low = Math.min(ephemeralRangeStart(), 65_536);
  for (let attempt = 0; attempt < 50 && low > FIRST_CHOSEN_PORT + 1000; attempt++) {
    const port = FIRST_CHOSEN_PORT + Math.floor(Math.random() * (low - FIRST_CHOSEN_PORT));
    if (handedOut.has(port)) continue;
    if ((await listenOnce(port).catch(() => undefined)) === undefined) continue;
    if (!(await claimPort(port))) continue;
    handedOut.add(port);
    return port;
  }
  const port = await listenOnce(0);
  handedOut.add(port);
  return port;
}

/** Long enough for the server a port was chosen for to bind it; then the bind itself keeps it. */
const CLAIM_MS = 60_000;

/**
 * Claims a port for this process for CLAIM_MS; false when another process of the project on this
 * host has (or this one has). Where the host cannot hold claims, the port is this process's anyway.
 */
export async function claimPort(port: number): Promise<boolean> {
  const held = await claim(`port-${port}`).catch(() => "unclaimable" as const);
  if (held === undefined) return false;
  if (held !== "unclaimable") setTimeout(() => void held.release(), CLAIM_MS).unref();
  return true;
}

/** Ports below this are left to services with well-known numbers. */
const FIRST_CHOSEN_PORT = 20_000;

/** The first port of the range the kernel gives outgoing connections (32768 unless configured). */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 0 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

/** Listens on 127.0.0.1:port, closes, and says which port it was (the OS's choice for 0). */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => {
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
