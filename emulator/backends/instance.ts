/** How the emulator starts an "instance": a process today; containers implement the same interface. */
export type Role = "controller" | "worker";

export interface InstanceSpec {
  instanceId: string;
  role: Role;
  /** The whole environment of the service, including its metadata endpoint. */
  env: Record<string, string>;
  labels: Record<string, string>;
  /** Docker runtime: the image to run; by default the role's image (faas/<role>:local). */
  image?: string;
  /**
   * Docker runtime: the networks the instance's interface joins, the first at creation. The instance id
   * is always an alias on each, so the edge and other containers can reach it by that name.
   */
  networks?: { name: string; aliases?: string[] }[];
  /** Process runtime: run the service as this user instead of the emulator's own (a non-root worker). */
  user?: { uid: number; gid: number };
  /** Docker runtime: the private address the instance's metadata service reports (local-ipv4). */
  privateIp?: string;
}

export interface RunningInstance {
  readonly pid: number | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  signal(signal: NodeJS.Signals): void;
  stop(graceMs?: number): Promise<void>;
}

export interface Runtime {
  readonly kind: "process" | "docker";
  launch(
    spec: InstanceSpec,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
  ): Promise<RunningInstance>;
}
