/**
 * The ElastiCache records of a local deployment, removed from the AWS emulator by hand: moto never
 * finishes deleting a replication group (it stays "deleting", and the provider would wait forever), so
 * `make destroy TARGET=local` drops them from Terraform's state and deletes them here instead — the
 * replication group and the stand-in member cluster tf-workdir.sh adds for moto (moto then lists both
 * as "deleting" for as long as it runs). The subnet group stays: moto 5.2.1 answers
 * DeleteCacheSubnetGroup with a 500 (not implemented), so it lives as long as the emulator. On AWS,
 * terraform destroy deletes all three normally.
 */
import {
  DeleteCacheClusterCommand,
  DeleteReplicationGroupCommand,
  DescribeCacheClustersCommand,
  DescribeCacheSubnetGroupsCommand,
  DescribeReplicationGroupsCommand,
} from "@aws-sdk/client-elasticache";
import { LocalAws } from "./aws-clients";

const GONE = /NotFound/;

/** Deletes the deployment's ElastiCache records; answers what it deleted. */
export async function deleteCacheRecords(aws: LocalAws, name: string): Promise<string[]> {
  const deleted: string[] = [];
  const call = async (what: string, remove: () => Promise<unknown>) => {
    try {
      await remove();
      deleted.push(what);
    } catch (err) {
      if (!GONE.test((err as { name?: string }).name ?? "")) throw err;
    }
  };
  await call(`replication group ${name}-redis`, () =>
    aws.elasticache.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: `${name}-redis` })),
  );
  await call(`cache cluster ${name}-redis-001`, () =>
    aws.elasticache.send(new DeleteCacheClusterCommand({ CacheClusterId: `${name}-redis-001` })),
  );
  return deleted;
}

/** The deployment's ElastiCache records that the emulator still lists, with their status. */
export async function cacheRecords(
  aws: LocalAws,
  name: string,
): Promise<{
  replicationGroups: { id: string; status: string }[];
  clusters: { id: string; status: string }[];
  subnetGroups: string[];
}> {
  const mine = (n: string | undefined): n is string => n?.startsWith(`${name}-`) === true;
  const groups = await aws.elasticache.send(new DescribeReplicationGroupsCommand({}));
  const clusters = await aws.elasticache.send(new DescribeCacheClustersCommand({}));
  const subnetGroups = await aws.elasticache.send(new DescribeCacheSubnetGroupsCommand({}));
  return {
    replicationGroups: (groups.ReplicationGroups ?? [])
      .filter((g) => mine(g.ReplicationGroupId))
      .map((g) => ({ id: g.ReplicationGroupId ?? "", status: g.Status ?? "" })),
    clusters: (clusters.CacheClusters ?? [])
      .filter((c) => mine(c.CacheClusterId))
      .map((c) => ({ id: c.CacheClusterId ?? "", status: c.CacheClusterStatus ?? "" })),
    subnetGroups: (subnetGroups.CacheSubnetGroups ?? []).map((g) => g.CacheSubnetGroupName).filter(mine),
  };
}
