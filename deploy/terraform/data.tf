# Where the platform keeps things: the task queue and its dead-letter queue, function code (S3),
# function metadata (DynamoDB), invocation results (ElastiCache Redis), secrets (SSM Parameter Store)
# and logs (CloudWatch Logs).

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-tasks-dlq"
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "tasks" {
  name                       = "${var.name}-tasks"
  visibility_timeout_seconds = var.queue_visibility_timeout_s
  receive_wait_time_seconds  = 20
  message_retention_seconds  = 345600
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.queue_max_receive_count
  })
}

resource "aws_s3_bucket" "functions" {
  bucket        = "${var.name}-functions-${local.account_id}-${var.region}"
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "functions" {
  bucket                  = aws_s3_bucket.functions.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_dynamodb_table" "functions" {
  name         = "${var.name}-functions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "name"
  attribute {
    name = "name"
    type = "S"
  }
}

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${var.name}-redis"
  subnet_ids = aws_subnet.private[*].id
}

# One node: results and pub/sub are rebuilt by retries if it is replaced; a replica would double the
# biggest line of the bill. A replication group rather than a bare cluster because only a replication
# group takes an AUTH token and in-transit encryption: functions run on the workers, so Redis must
# not answer a client that merely reaches port 6379, and nothing on the wire may be read.
resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "${var.name}-redis"
  description                = "FaaS invocation results and pub/sub"
  engine                     = "redis"
  engine_version             = "7.1"
  parameter_group_name       = "default.redis7"
  node_type                  = var.cache_node_type
  num_cache_clusters         = 1
  automatic_failover_enabled = false
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  auth_token                 = var.redis_auth_token
}

locals {
  # AWS always fills the primary endpoint; the guard keeps a plan readable where an emulator does not.
  redis_host     = coalesce(aws_elasticache_replication_group.redis.primary_endpoint_address, "redis.invalid")
  redis_endpoint = "${local.redis_host}:${aws_elasticache_replication_group.redis.port}"
  # faas-boot inserts the AUTH token from SSM: rediss://:<token>@<redis_endpoint>. Without it here,
  # the URL is safe to print and to put in user data.
  redis_url = "rediss://${local.redis_endpoint}"
}

resource "aws_ssm_parameter" "api_key" {
  name  = "/${var.name}/api-key"
  type  = "SecureString"
  value = var.api_key
}

resource "aws_ssm_parameter" "worker_secret" {
  name  = "/${var.name}/worker-secret"
  type  = "SecureString"
  value = var.worker_secret
}

resource "aws_ssm_parameter" "redis_auth_token" {
  name  = "/${var.name}/redis-auth-token"
  type  = "SecureString"
  value = var.redis_auth_token
}

# Encrypts functions' env vars inside the queued SQS tasks (FAAS_ENV_KEY), shared by the controller
# and the workers. A standard SecureString parameter is free and the SSM endpoint already exists; a
# KMS key would need its own interface endpoint (deploy/README.md).
resource "aws_ssm_parameter" "env_key" {
  name  = "/${var.name}/env-key"
  type  = "SecureString"
  value = var.env_key
}

resource "aws_cloudwatch_log_group" "controller" {
  name              = "/${var.name}/controller"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/${var.name}/worker"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_metric_filter" "controller_errors" {
  name           = "${var.name}-controller-errors"
  log_group_name = aws_cloudwatch_log_group.controller.name
  pattern        = "Error"
  metric_transformation {
    name          = "ControllerErrorLines"
    namespace     = "FaaS"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "controller_errors" {
  alarm_name          = "${var.name}-controller-errors"
  alarm_description   = "The controller logged lines containing \"Error\"."
  namespace           = "FaaS"
  metric_name         = "ControllerErrorLines"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.error_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
}
