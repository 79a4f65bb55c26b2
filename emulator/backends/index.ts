/**
 * The backends, by name: the one place that maps a runtime choice to its implementation. Each backend
 * takes its own options; an option of the other backend is an error, not silently ignored.
 */
import { Backend, BackendContext, BackendKind } from "./backend";
import { DockerBackend, DockerBackendOptions } from "./docker/backend";
import { ProcessBackend, ProcessBackendOptions } from "./process/backend";

export type BackendChoice =
  ({ kind: "process" } & ProcessBackendOptions) | ({ kind: "docker" } & DockerBackendOptions);

export function startBackend(context: BackendContext, choice: BackendChoice): Promise<Backend> {
  switch (choice.kind) {
    case "process":
      return ProcessBackend.start(context, choice);
    case "docker":
      return DockerBackend.start(context, choice);
  }
}

export type { Backend, BackendContext, BackendKind };
