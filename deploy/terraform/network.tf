# The VPC: public subnets hold the controller (its only way out is the internet gateway), private
# subnets hold the workers and Redis and have no route out of the VPC at all. There is no NAT gateway
# ($32.85 a month before traffic) and no load balancer: the Elastic IP is the front door and AWS APIs
# are reached through the endpoints below.

resource "aws_vpc" "main" {
  cidr_block = var.vpc_cidr
  # Both are needed for interface endpoints' private DNS, and for the Elastic IP's public DNS name to
  # resolve to the controller's private address inside the VPC (how workers reach the controller).
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.name }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = var.name }
}

resource "aws_subnet" "public" {
  count             = length(local.azs)
  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, count.index)
  # The controller's launch template asks for a public IP itself; nothing else lands here.
  map_public_ip_on_launch = false
  tags                    = { Name = "${var.name}-public-${local.azs[count.index]}", Tier = "public" }
}

resource "aws_subnet" "private" {
  count             = length(local.azs)
  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, 100 + count.index)
  tags              = { Name = "${var.name}-private-${local.azs[count.index]}", Tier = "private" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${var.name}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main.id
}

resource "aws_route_table_association" "public" {
  count          = length(aws_subnet.public)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# Only the VPC's local route and the gateway endpoints' prefix-list routes: no 0.0.0.0/0.
resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${var.name}-private" }
}

resource "aws_route_table_association" "private" {
  count          = length(aws_subnet.private)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

# Endpoint policies: a second fence behind the instance roles. Through these endpoints only principals
# of this account reach only this platform's resources, with only the actions the services use, so
# code that gets hold of a credential on a worker cannot copy data to another bucket or queue (its
# own account's or anyone else's) over the endpoints. The private DNS of the interface endpoints and
# the gateway routes cover the public subnets too, so the controller's calls pass these policies as
# well. Nothing else needs them at boot: the AMIs are baked, so no instance reaches Amazon Linux's
# package repositories (S3 buckets) after launch.
locals {
  endpoint_statements = {
    s3 = [
      {
        Sid      = "FunctionCode"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = ["${aws_s3_bucket.functions.arn}/*"]
      },
      {
        Sid      = "FunctionCodeList"
        Action   = ["s3:ListBucket"]
        Resource = [aws_s3_bucket.functions.arn]
      },
    ]
    dynamodb = [{
      Sid      = "FunctionMetadata"
      Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
      Resource = [aws_dynamodb_table.functions.arn]
    }]
    sqs = [{
      Sid = "TaskQueues"
      Action = [
        "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
      ]
      Resource = [aws_sqs_queue.tasks.arn, aws_sqs_queue.dead_letter.arn]
    }]
    ssm = [{
      Sid      = "PlatformSecrets"
      Action   = ["ssm:GetParameter", "ssm:GetParameters"]
      Resource = local.controller_secret_arns
    }]
    logs = [{
      Sid    = "PlatformLogs"
      Action = local.log_stream_actions
      Resource = flatten([
        for g in [aws_cloudwatch_log_group.controller, aws_cloudwatch_log_group.worker] : [g.arn, "${g.arn}:*"]
      ])
    }]
  }
  endpoint_policies = {
    for service, statements in local.endpoint_statements : service => jsonencode({
      Version = "2012-10-17"
      Statement = [for s in statements : merge(s, {
        Effect    = "Allow"
        Principal = "*"
        Condition = { StringEquals = { "aws:PrincipalAccount" = local.account_id } }
      })]
    })
  }
}

# Gateway endpoints are free: function code (S3) and function metadata (DynamoDB). They are attached
# to the public route table too, so the controller's traffic to them stays off the internet.
resource "aws_vpc_endpoint" "gateway" {
  for_each          = toset(["s3", "dynamodb"])
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id, aws_route_table.public.id]
  policy            = local.endpoint_policies[each.key]
  tags              = { Name = "${var.name}-${each.key}" }
}

locals {
  # Interface endpoints cost $0.01/h per AZ each in us-east-1 (deploy/cost/prices.ts); every one must
  # earn it, and each has a free path that replaces it:
  #   sqs  - required: workers long-poll the task queue (SQS has no gateway endpoint).
  #   ssm  - worker_secrets_from = ssm: workers read their secrets from Parameter Store at boot.
  #          s3 instead: one encrypted object through the S3 gateway endpoint.
  #   logs - worker_logs = cloudwatch: the CloudWatch agent ships /<name>/worker.
  #          s3 instead: a timer copies the log file through the S3 gateway endpoint.
  # Not added: ec2 and autoscaling (only the controller calls them, over the internet gateway; a worker
  # that cannot reach SetInstanceHealth powers off instead, see faas-health.sh), sts, monitoring, and
  # kms (FAAS_ENV_KEY is an SSM parameter instead; deploy/README.md prices the alternative).
  interface_endpoints = concat(
    ["sqs"],
    var.worker_secrets_from == "ssm" ? ["ssm"] : [],
    var.worker_logs == "cloudwatch" ? ["logs"] : [],
  )
  endpoint_azs        = slice(local.azs, 0, var.interface_endpoint_az_count)
  endpoint_subnet_ids = slice(aws_subnet.private[*].id, 0, var.interface_endpoint_az_count)
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(local.interface_endpoints)
  vpc_id              = aws_vpc.main.id
  service_name        = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.endpoint_subnet_ids
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
  policy              = local.endpoint_policies[each.key]
  # The subnet ids are unknown until the subnets exist, so a plan cannot count them: faas cost reads
  # the endpoint's AZs from this tag (known at plan time) and bills each one.
  tags = { Name = "${var.name}-${each.key}", AvailabilityZones = join(",", local.endpoint_azs) }
}
