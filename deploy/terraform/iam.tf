# Instance roles: each allows exactly what that role's boot and service do, on its own resources.

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

locals {
  eip_arn            = "arn:${local.partition}:ec2:${var.region}:${local.account_id}:elastic-ip/${aws_eip.controller.allocation_id}"
  log_stream_actions = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
  # What faas-boot reads at boot. Workers never see the API key.
  worker_secret_arns = [
    aws_ssm_parameter.worker_secret.arn,
    aws_ssm_parameter.redis_auth_token.arn,
    aws_ssm_parameter.env_key.arn,
  ]
  # The API's certificate and key (tls_mode = self-signed) too: the controller's alone.
  controller_secret_arns = concat([aws_ssm_parameter.api_key.arn], local.worker_secret_arns, local.tls_param_arns)
  # Names, not references: the roles exist before the groups that launch with them.
  controller_asg_name = "${var.name}-controller"
  workers_asg_name    = "${var.name}-workers"
  asg_arn             = "arn:${local.partition}:autoscaling:${var.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName"
}

resource "aws_iam_role" "controller" {
  name               = "${var.name}-controller"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "controller" {
  name = "${var.name}-controller"
  role = aws_iam_role.controller.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ClaimElasticIp"
        Effect   = "Allow"
        Action   = ["ec2:AssociateAddress"]
        Resource = [local.eip_arn, "arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*", "arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*"]
      },
      {
        # Describe* calls cannot be scoped to a resource.
        Sid      = "FindElasticIp"
        Effect   = "Allow"
        Action   = ["ec2:DescribeAddresses"]
        Resource = ["*"]
      },
      {
        Sid      = "ReadSecrets"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:GetParameters"]
        Resource = local.controller_secret_arns
      },
      {
        Sid      = "EnqueueTasks"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
        Resource = [aws_sqs_queue.tasks.arn]
      },
      {
        # The controller consumes the dead-letter queue to record each task's final failure.
        Sid      = "RecordFinalFailures"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        Resource = [aws_sqs_queue.dead_letter.arn]
      },
      {
        Sid      = "FunctionCode"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = ["${aws_s3_bucket.functions.arn}/*"]
      },
      {
        # HeadObject answers 404 instead of 403 only with ListBucket.
        Sid      = "FunctionCodeList"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [aws_s3_bucket.functions.arn]
      },
      {
        Sid      = "FunctionMetadata"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
        Resource = [aws_dynamodb_table.functions.arn]
      },
      {
        Sid      = "ShipLogs"
        Effect   = "Allow"
        Action   = local.log_stream_actions
        Resource = [aws_cloudwatch_log_group.controller.arn, "${aws_cloudwatch_log_group.controller.arn}:*"]
      },
      {
        # A failed boot step or the watchdog marks the instance unhealthy so the group replaces it
        # (faas-health.sh); only in its own group.
        Sid      = "ReportOwnHealth"
        Effect   = "Allow"
        Action   = ["autoscaling:SetInstanceHealth"]
        Resource = ["${local.asg_arn}/${local.controller_asg_name}"]
      },
    ]
  })
}

resource "aws_iam_instance_profile" "controller" {
  name = "${var.name}-controller"
  role = aws_iam_role.controller.name
}

# Workers never touch the DynamoDB table (the task carries the code's S3 key), so they get no access
# to it; nor to the API key, nor to the dead-letter queue.
resource "aws_iam_role" "worker" {
  name               = "${var.name}-worker"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "worker" {
  name = "${var.name}-worker"
  role = aws_iam_role.worker.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ConsumeTasks"
          Effect   = "Allow"
          Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
          Resource = [aws_sqs_queue.tasks.arn]
        },
        {
          # Function code, and with worker_secrets_from = s3 the secrets object beside it.
          Sid      = "FunctionCode"
          Effect   = "Allow"
          Action   = ["s3:GetObject"]
          Resource = ["${aws_s3_bucket.functions.arn}/*"]
        },
        {
          Sid      = "ReportOwnHealth"
          Effect   = "Allow"
          Action   = ["autoscaling:SetInstanceHealth"]
          Resource = ["${local.asg_arn}/${local.workers_asg_name}"]
        },
        {
          # Caddy's storage (tls_mode = acme: its ACME account key and the certificate's private key)
          # sits in the code bucket, which the workers otherwise read: never theirs.
          Sid      = "NoTlsKeys"
          Effect   = "Deny"
          Action   = ["s3:GetObject"]
          Resource = ["${aws_s3_bucket.functions.arn}/${local.caddy_storage_prefix}/*"]
        },
      ],
      var.worker_secrets_from == "ssm" ? [{
        Sid      = "ReadSecrets"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = local.worker_secret_arns
      }] : [],
      var.worker_logs == "cloudwatch" ? [{
        Sid      = "ShipLogs"
        Effect   = "Allow"
        Action   = local.log_stream_actions
        Resource = [aws_cloudwatch_log_group.worker.arn, "${aws_cloudwatch_log_group.worker.arn}:*"]
        }] : [{
        Sid      = "ShipLogsToS3"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = ["${aws_s3_bucket.functions.arn}/${local.worker_logs_prefix}/*"]
      }],
    )
  })
}

resource "aws_iam_instance_profile" "worker" {
  name = "${var.name}-worker"
  role = aws_iam_role.worker.name
}
