/**
 * What `--runtime` may ask for. Apart from runtime-choice.ts, which loads the Docker client, so that
 * reading the CLI's options costs no Docker (about 0.2 s of module loading).
 */
import type { BackendKind } from "./backends/backend";

export type RuntimeRequest = BackendKind | "auto";
export const RUNTIME_REQUESTS: RuntimeRequest[] = ["auto", "docker", "process"];
