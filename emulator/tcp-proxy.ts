/**
 * A TCP proxy standing where a VPC endpoint stands, so chaos can cut it: while cut, new connections
 * are refused (accepted and reset at once) and open ones are destroyed, as when an endpoint or its
 * security group stops answering.
 */
import net from "node:net";

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenPort = 0,
    private readonly listenHost = "127.0.0.1",
  ) {}

  async start(): Promise<string> {
    this.server = net.createServer((client) => {
      if (this.isCut) {
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.listenPort, this.listenHost, resolve);
    });
    const address = this.server.address();
    this.port = typeof address === "object" && address !== null ? address.port : 0;
    return `http://127.0.0.1:${this.port}`;
  }

  get cut(): boolean {
    return this.isCut;
  }

  setCut(cut: boolean): void {
    this.isCut = cut;
    if (cut) for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
