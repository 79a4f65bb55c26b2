import path from "node:path";
import { ManagedProcess } from "./managed-process";
import { InstanceSpec, RunningInstance, Runtime } from "./runtime";

/** Instances as local Node.js processes running the same entry files the AMI runs. */
export class ProcessRuntime implements Runtime {
  readonly kind = "process" as const;

  constructor(private readonly distRoot: string = path.resolve(__dirname, "..")) {}

  launch(
    spec: InstanceSpec,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
  ): Promise<RunningInstance> {
    const entry = path.join(this.distRoot, "services", spec.role, "main.js");
    const proc = new ManagedProcess({
      name: spec.instanceId,
      command: process.execPath,
      args: [entry],
      env: { ...spec.env, ...spec.labels, FAAS_EXIT_WITH_PARENT: "1" },
      user: spec.user,
      onLine: (_name, line, stream) => onLine(line, stream),
    });
    return Promise.resolve(proc);
  }
}
