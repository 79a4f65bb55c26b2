import { rmSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { waitFor } from "../../emulator/wait";
import { pidAlive } from "../config";
import { UserError } from "../errors";
import { LocalDeployState, readLocalDeployState } from "../local-deploy-state";

interface Args {
  "state-file": string;
  name?: string;
  "aws-endpoint"?: string;
}

export const localDeployDownCommand: CommandModule<object, Args> = {
  command: "down",
  describe:
    "Stop the instances of a deployment booted by `faas local-deploy up` (make destroy TARGET=local runs this before terraform destroy)",
  builder: (y: Argv) =>
    y
      .option("state-file", { type: "string", demandOption: true, describe: "the runner's state file" })
      .option("name", {
        type: "string",
        describe:
          "with --aws-endpoint: also delete the deployment's ElastiCache records, which terraform destroy cannot on moto",
      })
      .option("aws-endpoint", { type: "string", describe: "the AWS emulator the deployment is in" }),
  handler: async (args) => {
    const stateFile = args["state-file"];
    const state = readLocalDeployState(stateFile);
    if (state !== undefined) await stopRunner(stateFile, state);
    else process.stdout.write("no local deployment runner is recorded; no instance to stop\n");
    const name = args.name;
    const endpoint = args["aws-endpoint"];
    if (name !== undefined && endpoint !== undefined) {
      const { deleteCacheRecords } = await import("../../emulator/local-deploy/cache-records");
      const { destroyLocalAws, localAwsClients } = await import("../../emulator/local-deploy/aws-clients");
      const aws = localAwsClients(endpoint, "us-east-1");
      const deleted = await deleteCacheRecords(aws, name).finally(() => destroyLocalAws(aws));
      if (deleted.length > 0)
        process.stdout.write(`deployment ${name}: deleted ${deleted.join(", ")} in the emulator\n`);
    }
  },
};

async function stopRunner(stateFile: string, state: LocalDeployState): Promise<void> {
  if (pidAlive(state.pid)) {
    process.kill(state.pid, "SIGTERM");
    await waitFor(`runner pid ${state.pid} to stop`, () => !pidAlive(state.pid), {
      timeoutMs: 45_000,
      intervalMs: 200,
    }).catch(() => {
      throw new UserError(`the runner (pid ${state.pid}) did not stop within 45 s`);
    });
  }
  // Whatever a runner killed with SIGKILL left behind carries its label.
  const { reapEnvironment } = await import("../../emulator/leftovers");
  const removed = await reapEnvironment(state.envId);
  rmSync(stateFile, { force: true });
  process.stdout.write(
    `deployment ${state.name}: its instances are stopped (${state.envId})${removed.length > 0 ? `; removed what it left: ${removed.join("; ")}` : ""}\n`,
  );
}
