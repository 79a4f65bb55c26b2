/**
 * Claims that every process of the project on this host sees, and that no process can leave behind:
 * a claim is an abstract Unix socket (Linux; nothing on disk) named `faas-<name>`, which only one
 * process can listen on and which the kernel drops when that process exits, however it exits
 * (SIGKILL included). Used where processes that know nothing of each other must not take the same
 * thing: sandbox uid ranges (sandbox-uids.ts), ports chosen ahead of their server's bind (ports.ts).
 * No traffic goes over the socket: it is never connected to.
 */
import net from "node:net";

export interface HostClaim {
  release(): Promise<void>;
}

/**
 * Claims `name` for this process; undefined when another process (or this one) holds it. Rejects
 * only when the host cannot hold claims at all.
 */
export function claim(name: string): Promise<HostClaim | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") resolve(undefined);
      else reject(err);
    });
    server.listen({ path: `\0faas-${name}` }, () => {
      server.unref();
      resolve({ release: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}
