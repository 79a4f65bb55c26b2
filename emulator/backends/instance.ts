/** A running instance's service, as every backend hands it to the fleet: a process or a container. */
export interface RunningInstance {
  readonly pid: number | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  signal(signal: NodeJS.Signals): void;
  stop(graceMs?: number): Promise<void>;
}
