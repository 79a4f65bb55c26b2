/**
 * The Auto Scaling groups a Terraform apply created in the local cloud, and their instances as the
 * fleet's InstanceSource. moto's Auto Scaling records instances (RunInstances from the group's launch
 * template) but runs nothing, and records a replacement the moment one is terminated in its group. So
 * the runner *adopts* what moto recorded instead of launching instances beside it: each instance id in
 * the group becomes one running service (its metadata server answers that id, so the controller claims
 * the Elastic IP for it), and taking an instance out of service terminates it in its group
 * (TerminateInstanceInAutoScalingGroup, desired capacity kept), whose replacement record the next
 * launch adopts. No record is left without a service, and no service runs without a record.
 */
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { InstanceIdentity, Role } from "../backends/backend";
import type { InstanceSource } from "../fleet";
import { LocalDeployError } from "./errors";
import {
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { LocalAws } from "./aws-clients";

export interface GroupInstance {
  instanceId: string;
  lifecycleState: string;
  healthStatus: string;
}

export interface DeployedGroup {
  name: string;
  role: Role;
  min: number;
  max: number;
  desired: number;
  launchTemplateId: string;
  /** A version number, or "$Latest" / "$Default" as the group names it. */
  launchTemplateVersion: string;
  instances: GroupInstance[];
}

/** Names of the groups in the local cloud whose name starts with `<name>-`. */
async function groupNames(aws: LocalAws, name: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const out = await aws.autoscaling.send(new DescribeAutoScalingGroupsCommand({ NextToken: token }));
    for (const g of out.AutoScalingGroups ?? [])
      if (g.AutoScalingGroupName?.startsWith(`${name}-`) === true) names.push(g.AutoScalingGroupName);
    token = out.NextToken;
  } while (token !== undefined && token !== "");
  return names;
}

/** One group, as DescribeAutoScalingGroups answers; undefined when it does not exist. */
export async function describeGroup(aws: LocalAws, groupName: string): Promise<DeployedGroup | undefined> {
  const out = await aws.autoscaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  const group = out.AutoScalingGroups?.[0];
  if (group === undefined) return undefined;
  const role = group.Tags?.find((t) => t.Key === "Role")?.Value;
  if (role !== "controller" && role !== "worker") return undefined;
  return {
    name: groupName,
    role,
    min: group.MinSize ?? 0,
    max: group.MaxSize ?? 0,
    desired: group.DesiredCapacity ?? 0,
    launchTemplateId: group.LaunchTemplate?.LaunchTemplateId ?? "",
    launchTemplateVersion: group.LaunchTemplate?.Version ?? "$Default",
    instances: (group.Instances ?? []).map((i) => ({
      instanceId: i.InstanceId ?? "",
      lifecycleState: i.LifecycleState ?? "",
      healthStatus: i.HealthStatus ?? "",
    })),
  };
}

/**
 * The deployment's groups, found by name prefix (`<name>-`) and their `Role` tag (controller or
 * worker), as deploy/terraform names and tags them.
 */
export async function deployedGroups(aws: LocalAws, name: string): Promise<DeployedGroup[]> {
  const groups: DeployedGroup[] = [];
  for (const groupName of await groupNames(aws, name)) {
    const group = await describeGroup(aws, groupName);
    if (group !== undefined) groups.push(group);
  }
  return groups;
}

/** The fleet's instances are the ones the deployed groups recorded (see the header). */
export class AutoScalingGroupSource implements InstanceSource {
  /** Every instance id handed to the fleet: none is adopted twice. */
  private readonly adopted = new Set<string>();

  constructor(
    private readonly aws: LocalAws,
    private readonly ec2: EC2Client,
    private readonly groupOf: Record<Role, string>,
  ) {}

  async provision(role: Role): Promise<InstanceIdentity> {
    const groupName = this.groupOf[role];
    const group = await describeGroup(this.aws, groupName);
    const next = group?.instances.find(
      (i) => i.lifecycleState === "InService" && !this.adopted.has(i.instanceId),
    );
    if (next === undefined)
      throw new LocalDeployError("no-instance", `${groupName} records no instance in service left to adopt`);
    this.adopted.add(next.instanceId);
    const described = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [next.instanceId] }));
    const instance = described.Reservations?.[0]?.Instances?.[0];
    return {
      instanceId: next.instanceId,
      role,
      privateIp: instance?.PrivateIpAddress ?? "10.0.0.10",
      instanceType: instance?.InstanceType ?? "t3.micro",
      amiId: instance?.ImageId ?? "ami-00000000",
    };
  }

  /** Terminated in its group with the desired capacity kept: the group records a replacement. */
  async retire(instanceId: string): Promise<void> {
    await this.aws.autoscaling
      .send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: instanceId,
          ShouldDecrementDesiredCapacity: false,
        }),
      )
      .catch(() => undefined);
  }
}
