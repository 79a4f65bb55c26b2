import type { Argv, CommandModule } from "yargs";
import { adminRequest } from "../admin";

/** `faas dev kill|pause|resume <instance>`: act on one instance as a fault would. */
function instanceCommand(
  verb: "kill" | "pause" | "resume",
  describe: string,
): CommandModule<object, { instance: string }> {
  return {
    command: `${verb} <instance>`,
    describe,
    builder: (y: Argv) => y.positional("instance", { type: "string", demandOption: true }),
    handler: async (args) => {
      await adminRequest("POST", `/instances/${encodeURIComponent(args.instance)}/${verb}`);
      process.stdout.write(`${verb}: ${args.instance}\n`);
    },
  };
}

export const devKillCommand = instanceCommand("kill", "SIGKILL an instance's service; its group replaces it");
export const devPauseCommand = instanceCommand("pause", "Freeze an instance (SIGSTOP)");
export const devResumeCommand = instanceCommand("resume", "Thaw a paused instance (SIGCONT)");
