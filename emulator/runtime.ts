/** How the emulator starts an "instance": a process today; containers implement the same interface. */
export type Role = "controller" | "worker";

export interface InstanceSpec {
  instanceId: string;
  role: Role;
  /** The whole environment of the service, including its metadata endpoint. */
  env: Record<string, string>;
  labels: Record<string, string>;
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
