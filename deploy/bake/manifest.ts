/**
 * The AMI ids a bake produced, from Packer's manifest post-processor (.faas/packer-manifest.json):
 * the amazon-ebs builds of the last run, one per role, in the region deployed to. `make deploy`
 * applies exactly these ids (no lookup by name, which would pick up anyone's newer bake).
 *   node dist/deploy/bake/manifest.js <manifest.json> <region> <out.tfvars.json>
 */
import fs from "node:fs";
import { z } from "zod";

const manifestSchema = z.looseObject({
  builds: z.array(
    z.looseObject({
      name: z.string(),
      builder_type: z.string(),
      artifact_id: z.string(),
      packer_run_uuid: z.string(),
    }),
  ),
  last_run_uuid: z.string(),
});

export class ManifestError extends Error {
  override readonly name = "ManifestError";
}

export interface AmiIds {
  controller_ami_id: string;
  worker_ami_id: string;
}

export function amiIdsFromManifest(json: string, region: string): AmiIds {
  let parsed: z.infer<typeof manifestSchema>;
  try {
    parsed = manifestSchema.parse(JSON.parse(json));
  } catch (err) {
    throw new ManifestError(`not a Packer manifest: ${err instanceof Error ? err.message : String(err)}`);
  }
  const amiOf = (role: string): string => {
    const build = parsed.builds.find(
      (b) => b.name === role && b.builder_type === "amazon-ebs" && b.packer_run_uuid === parsed.last_run_uuid,
    );
    if (build === undefined) {
      throw new ManifestError(`the last Packer run built no ${role} AMI: run make bake`);
    }
    // "us-east-1:ami-0123,eu-west-1:ami-4567" when an image is copied to several regions.
    for (const entry of build.artifact_id.split(",")) {
      const [r, id] = entry.split(":");
      if (r === region && id !== undefined && /^ami-[0-9a-f]{8,17}$/.test(id)) return id;
    }
    throw new ManifestError(
      `the last ${role} AMI (${build.artifact_id}) is not in ${region}: bake for that region`,
    );
  };
  return { controller_ami_id: amiOf("controller"), worker_ami_id: amiOf("worker") };
}

if (require.main === module) {
  const [manifest, region, out] = process.argv.slice(2);
  if (manifest === undefined || region === undefined || out === undefined) {
    console.error("usage: manifest.js <manifest.json> <region> <out.tfvars.json>");
    process.exit(2);
  }
  try {
    const ids = amiIdsFromManifest(fs.readFileSync(manifest, "utf8"), region);
    fs.writeFileSync(out, JSON.stringify(ids, null, 2) + "\n");
    console.log(`bake: ${out}: controller ${ids.controller_ami_id}, worker ${ids.worker_ami_id}`);
  } catch (err) {
    console.error(`bake: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
