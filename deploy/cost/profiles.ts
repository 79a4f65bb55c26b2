/**
 * Configuration profiles (deploy/profiles/<name>.tfvars): variable settings applied on top of the
 * defaults, each line carrying its one-line trade-off after '#'. The file is the single source: make
 * deploy passes it to Terraform, faas cost plans with it and prints the trade-offs from it.
 */
import fs from "node:fs";
import path from "node:path";
import { CostError } from "./prices";

export interface ProfileSetting {
  variable: string;
  value: string;
  tradeOff: string;
}

export interface Profile {
  name: string;
  file: string;
  settings: ProfileSetting[];
}

export const profilesDir = (repoRoot: string) => path.join(repoRoot, "deploy", "profiles");

/** Every non-comment line must be `variable = value  # trade-off`; a setting without one is an error. */
export function parseProfile(name: string, file: string, text: string): Profile {
  const settings: ProfileSetting[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*#\s*(.+)$/.exec(line);
    const [, variable, value, tradeOff] = m ?? [];
    if (variable === undefined || value === undefined || tradeOff === undefined) {
      throw new CostError(`${file}:${i + 1}: write each setting as 'variable = value  # its trade-off'`);
    }
    settings.push({ variable, value, tradeOff });
  });
  if (settings.length === 0) throw new CostError(`${file}: the profile sets nothing`);
  return { name, file, settings };
}

export function loadProfile(repoRoot: string, name: string): Profile {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new CostError(`bad profile name '${name}'`);
  const file = path.join(profilesDir(repoRoot), `${name}.tfvars`);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    const known = fs
      .readdirSync(profilesDir(repoRoot))
      .filter((f) => f.endsWith(".tfvars"))
      .map((f) => f.replace(/\.tfvars$/, ""));
    throw new CostError(`no profile '${name}' (known: default, ${known.join(", ")})`);
  }
  return parseProfile(name, file, text);
}
