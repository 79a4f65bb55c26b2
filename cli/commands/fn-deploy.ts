import AdmZip from "adm-zip";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Argv, CommandModule } from "yargs";
import { loadCliConfig, platformClient, resolveTarget } from "../config";
import { UserError } from "../errors";

interface Args {
  path: string;
  name?: string;
  handler: string;
  timeout: number;
  memory: number;
  env: string[];
}

export const fnDeployCommand: CommandModule<object, Args> = {
  command: "deploy <path>",
  describe: "Deploy a function from a .js file or a folder (a folder with more than index.js is zipped)",
  builder: (y: Argv) =>
    y
      .positional("path", { type: "string", demandOption: true })
      .option("name", { type: "string", describe: "function name (default: the file or folder name)" })
      .option("handler", { type: "string", default: "index.handler" })
      .option("timeout", { type: "number", default: 3000, describe: "timeout in ms" })
      .option("memory", { type: "number", default: 128, describe: "memory in MB" })
      .option("env", {
        type: "string",
        array: true,
        default: [],
        describe: "KEY=VALUE, repeatable",
      }),
  handler: async (args) => {
    const code = packageCode(args.path, args.handler);
    const name = args.name ?? path.basename(args.path).replace(/\.js$/, "");
    const env = Object.fromEntries(
      args.env.map((pair) => {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new UserError(`--env takes KEY=VALUE, not '${pair}'`);
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    );
    const target = resolveTarget(loadCliConfig());
    const record = await platformClient(target).deploy(name, {
      ...code,
      handler: args.handler,
      timeoutMs: args.timeout,
      memoryMb: args.memory,
      env,
    });
    process.stdout.write(
      `deployed ${record.name} version ${record.version} (${record.codeFormat}, ${record.codeSize} bytes, sha256 ${record.codeSha256.slice(0, 12)})\n`,
    );
  },
};

function packageCode(target: string, handler: string): { source: string } | { zip: string } {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    throw new UserError(`no such file or folder: ${target}`);
  }
  if (stat.isFile()) return { source: readFileSync(target, "utf8") };
  const files = readdirSync(target, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const moduleFile = `${handler.slice(0, handler.lastIndexOf("."))}.js`;
  if (files.length === 1 && files[0]?.name === moduleFile) {
    return { source: readFileSync(path.join(target, moduleFile), "utf8") };
  }
  if (!files.some((f) => path.relative(target, path.join(f.parentPath, f.name)) === moduleFile)) {
    throw new UserError(`${target} has no ${moduleFile} for handler '${handler}'`);
  }
  const zip = new AdmZip();
  zip.addLocalFolder(target);
  return { zip: zip.toBuffer().toString("base64") };
}
