/**
 * The AWS SDK clients the local deploy runner needs beyond the environment's own (EC2, S3): Auto
 * Scaling (the groups Terraform created), SSM (the secrets faas-boot.sh would read) and ElastiCache
 * (the records `make destroy TARGET=local` removes by hand), all pointed at the local cloud.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { ElastiCacheClient } from "@aws-sdk/client-elasticache";
import { SSMClient } from "@aws-sdk/client-ssm";

export interface LocalAws {
  autoscaling: AutoScalingClient;
  ssm: SSMClient;
  elasticache: ElastiCacheClient;
}

export function localAwsClients(endpoint: string, region: string): LocalAws {
  const config = { endpoint, region, credentials: { accessKeyId: "test", secretAccessKey: "test" } };
  return {
    autoscaling: new AutoScalingClient(config),
    ssm: new SSMClient(config),
    elasticache: new ElastiCacheClient(config),
  };
}

export function destroyLocalAws(aws: LocalAws): void {
  aws.autoscaling.destroy();
  aws.ssm.destroy();
  aws.elasticache.destroy();
}
