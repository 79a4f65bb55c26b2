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
  bucket = "${var.name}-functions-${local.account_id}-${var.region}"
  # Off by default: destroying the stack must not silently take every deployed function with it.
  force_destroy = var.force_destroy_code_bucket
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
# Valkey (cache_engine) is the Redis-compatible fork that ElastiCache bills 20 % lower per node hour;
# it keeps TLS and the AUTH token, and the services speak the same protocol to it.
locals {
  cache_engine = {
    redis  = { version = "7.1", parameter_group = "default.redis7" }
    valkey = { version = "8.0", parameter_group = "default.valkey8" }
  }[var.cache_engine]
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "${var.name}-redis"
  description                = "FaaS invocation results and pub/sub"
  engine                     = var.cache_engine
  engine_version             = local.cache_engine.version
  parameter_group_name       = local.cache_engine.parameter_group
  node_type                  = var.cache_node_type
  num_cache_clusters         = 1
  automatic_failover_enabled = false
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  # The one secret in the state: provider 5.100 has no write-only AUTH token (deploy/README.md, "Secrets").
  auth_token = var.redis_auth_token
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
  name = "/${var.name}/api-key"
  type = "SecureString"
  # Write-only: sent to SSM on create and when secrets_version changes, never kept in the state.
  value_wo         = var.api_key
  value_wo_version = var.secrets_version
}

resource "aws_ssm_parameter" "worker_secret" {
  name = "/${var.name}/worker-secret"
  type = "SecureString"
  # Write-only: sent to SSM on create and when secrets_version changes, never kept in the state.
  value_wo         = var.worker_secret
  value_wo_version = var.secrets_version
}

resource "aws_ssm_parameter" "redis_auth_token" {
  name = "/${var.name}/redis-auth-token"
  type = "SecureString"
  # Write-only: sent to SSM on create and when secrets_version changes, never kept in the state.
  value_wo         = var.redis_auth_token
  value_wo_version = var.secrets_version
}

# Encrypts functions' env vars inside the queued SQS tasks (FAAS_ENV_KEY), shared by the controller
# and the workers. A standard SecureString parameter is free and the SSM endpoint already exists; a
# KMS key would need its own interface endpoint (deploy/README.md).
resource "aws_ssm_parameter" "env_key" {
  name = "/${var.name}/env-key"
  type = "SecureString"
  # Write-only: sent to SSM on create and when secrets_version changes, never kept in the state.
  value_wo         = var.env_key
  value_wo_version = var.secrets_version
}

resource "aws_cloudwatch_log_group" "controller" {
  name              = "/${var.name}/controller"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/${var.name}/worker"
  retention_in_days = var.log_retention_days
}

# pino writes one JSON object per line with a numeric level: 50 error, 60 fatal. A JSON filter on that
# field counts exactly the error lines; a text match on "Error" would miss errors whose message lacks
# the word and count info lines that contain it.
resource "aws_cloudwatch_log_metric_filter" "controller_errors" {
  name           = "${var.name}-controller-errors"
  log_group_name = aws_cloudwatch_log_group.controller.name
  pattern        = "{ $.level >= 50 }"
  metric_transformation {
    name          = "ControllerErrorLines"
    namespace     = "FaaS"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "controller_errors" {
  alarm_name          = "${var.name}-controller-errors"
  alarm_description   = "The controller logged errors (pino level >= 50)."
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

# A task lands in the dead-letter queue after queue_max_receive_count deliveries: a function that kills
# its worker every time, or workers that cannot store results. The controller records each one as a
# failure, so the queue is normally empty; anything visible there for five minutes wants a look.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name}-dead-letters"
  alarm_description   = "Tasks are waiting in the dead-letter queue ${aws_sqs_queue.dead_letter.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
}

# worker_secrets_from = s3: the workers' three secrets as one SSE-KMS object (the AWS-managed aws/s3
# key: S3 decrypts on the reader's behalf, so no KMS endpoint is needed) read through the free S3
# gateway endpoint instead of the SSM interface endpoint. deploy.sh writes the file from the values it
# also gives SSM; the state keeps its path and MD5, never its content.
resource "aws_s3_object" "worker_secrets" {
  count                  = var.worker_secrets_from == "s3" ? 1 : 0
  bucket                 = aws_s3_bucket.functions.id
  key                    = local.worker_secrets_key
  source                 = var.worker_secrets_file
  source_hash            = filemd5(var.worker_secrets_file)
  server_side_encryption = "aws:kms"
  content_type           = "text/plain"
}

# worker_logs = s3: worker logs kept as long as the log groups keep theirs.
resource "aws_s3_bucket_lifecycle_configuration" "worker_logs" {
  count  = var.worker_logs == "s3" ? 1 : 0
  bucket = aws_s3_bucket.functions.id
  rule {
    id     = "worker-logs"
    status = "Enabled"
    filter {
      prefix = "${local.worker_logs_prefix}/"
    }
    expiration {
      days = var.log_retention_days
    }
  }
}

locals {
  worker_secrets_key = "secrets/worker.env"
  worker_logs_prefix = "logs/worker"
}
