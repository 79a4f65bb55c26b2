/**
 * Which runtime an environment uses: `auto` takes Docker when an engine answers and the images exist,
 * processes otherwise; `docker` and `process` force one. The choice comes with the reason, which
 * `make dev` and `make chaos-test` print.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import Docker from "dockerode";
import { DockerRuntime } from "./backends/docker/containers";
import { BackendKind as RuntimeKind } from "./backends/backend";
import { BackendChoice } from "./backends";
import { ProcessBackendOptions } from "./backends/process/backend";
import { PrerequisiteError } from "./ports";
import { RuntimeRequest } from "./runtime-request";

export { RUNTIME_REQUESTS, RuntimeRequest } from "./runtime-request";

export interface RuntimeChoice {
  kind: RuntimeKind;
  reason: string;
}

const BUILD_SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "build-images.sh");

/** The images an environment on the Docker runtime runs (the edge, ENI and SQS endpoint use the controller's). */
export function requiredImages(tag = "local"): string[] {
  return ["controller", "worker", "redis", "aws"].map((name) => `faas/${name}:${tag}`);
}

export async function missingImages(docker: Docker, tag = "local"): Promise<string[]> {
  const missing: string[] = [];
  for (const image of requiredImages(tag)) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => missing.push(image));
  }
  return missing;
}

export async function chooseRuntime(
  request: RuntimeRequest,
  options: { docker?: Docker; imageTag?: string; log?: (line: string) => void } = {},
): Promise<RuntimeChoice> {
  if (request === "process") return { kind: "process", reason: "requested (--runtime process)" };
  const docker = options.docker ?? new Docker();
  const engine = await DockerRuntime.available(docker);
  if (request === "auto") {
    if (!engine)
      return {
        kind: "process",
        reason: "no Docker engine answers (scripts/ensure-docker.sh starts one; RUNTIME=docker forces it)",
      };
    const missing = await missingImages(docker, options.imageTag);
    return missing.length > 0
      ? {
          kind: "process",
          reason: `a Docker engine answers but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing (\`make images\` builds them)`,
        }
      : {
          kind: "docker",
          reason: "a Docker engine answers and the images exist (RUNTIME=process forces processes)",
        };
  }
  if (!engine)
    throw new PrerequisiteError(
      "the Docker runtime was requested but no Docker engine answers: run `scripts/ensure-docker.sh` (or use --runtime process)",
    );
  const missing = await missingImages(docker, options.imageTag);
  if (missing.length === 0) return { kind: "docker", reason: "requested (--runtime docker)" };
  options.log?.(`${missing.join(", ")} missing: building the images (scripts/build-images.sh, offline)...`);
  await buildImages(options.imageTag);
  return { kind: "docker", reason: "requested (--runtime docker); the missing images were built" };
}

function buildImages(tag = "local"): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [BUILD_SCRIPT], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, FAAS_IMAGE_TAG: tag },
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(
            new PrerequisiteError(`building the images failed (exit ${code ?? "?"}): run \`make images\``),
          ),
    );
  });
}

/**
 * The backend to start for a choice, with the options given on the command line. Options of the
 * process backend (ports, external endpoints) are refused for Docker rather than ignored.
 */
export function backendFor(choice: RuntimeChoice, processOptions: ProcessBackendOptions = {}): BackendChoice {
  if (choice.kind === "process") return { kind: "process", ...processOptions };
  if (processOptions.awsEndpoint !== undefined || processOptions.redisUrl !== undefined)
    throw new PrerequisiteError(
      "--aws-endpoint and --redis-url work with the process runtime only (--runtime process)",
    );
  // The Docker backend's SQS is moto's for now (docs/queue.md): say so rather than ignore the choice.
  if (processOptions.queue === "local")
    process.stderr.write(
      "note: the Docker runtime's queue is moto's SQS; --queue local applies to processes\n",
    );
  return { kind: "docker" };
}
