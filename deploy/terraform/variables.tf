variable "name" {
  description = "Prefix of every resource name and the Project tag."
  type        = string
  default     = "faas"
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "az_count" {
  description = "Availability zones to spread the subnets (and the two ASGs) over."
  type        = number
  default     = 2
  validation {
    condition     = var.az_count >= 1 && var.az_count <= 3
    error_message = "az_count must be between 1 and 3."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; subnets are /24s carved from it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "interface_endpoint_az_count" {
  description = "How many private subnets get an ENI of each interface endpoint. Each ENI costs $7.30 a month; one AZ is the original design's trade-off (workers in the other AZ cross zones for SQS)."
  type        = number
  default     = 1
}

variable "ship_worker_logs" {
  description = "Add the CloudWatch Logs interface endpoint (about $7.30 a month per AZ) so worker logs reach /faas/worker. Without it worker logs stay on the instance and die with it."
  type        = bool
  default     = true
}

variable "controller_instance_type" {
  description = "Instance type of the controller."
  type        = string
  default     = "t3.micro"
}

variable "worker_instance_type" {
  description = "Instance type of the workers (arm64 by default: the worker AMI must match)."
  type        = string
  default     = "t4g.nano"
}

variable "controller_ami_id" {
  description = "AMI of the controller; empty means the newest self-owned image named <name>-controller-* baked by deploy/packer."
  type        = string
  default     = ""
}

variable "worker_ami_id" {
  description = "AMI of the workers; empty means the newest self-owned image named <name>-worker-* baked by deploy/packer."
  type        = string
  default     = ""
}

variable "root_volume_gb" {
  description = "Size of each instance's gp3 root volume."
  type        = number
  default     = 8
}

variable "worker_min_size" {
  description = "Minimum number of workers."
  type        = number
  default     = 1
}

variable "worker_desired_capacity" {
  description = "Workers to run now."
  type        = number
  default     = 1
}

variable "worker_max_size" {
  description = "Maximum number of workers."
  type        = number
  default     = 3
}

variable "worker_slots" {
  description = "Concurrent invocations per worker (FAAS_WORKER_SLOTS)."
  type        = number
  default     = 2
}

variable "controller_port" {
  description = "Port of the controller's HTTP API."
  type        = number
  default     = 8080
}

variable "api_ingress_cidrs" {
  description = "Who may call the public API on the Elastic IP."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "health_check_grace_period" {
  description = "Seconds the ASGs wait after launch before acting on health checks."
  type        = number
  default     = 90
}

variable "cache_node_type" {
  description = "ElastiCache node type of the Redis result store."
  type        = string
  default     = "cache.t3.micro"
}

variable "queue_visibility_timeout_s" {
  description = "SQS visibility timeout; longer than the longest function timeout (workers also extend it while a task runs)."
  type        = number
  default     = 60
}

variable "queue_max_receive_count" {
  description = "Deliveries before a task moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups."
  type        = number
  default     = 14
}

variable "error_alarm_threshold" {
  description = "Error lines in five minutes that raise the controller's alarm."
  type        = number
  default     = 1
}

variable "alarm_actions" {
  description = "ARNs (SNS topics) notified when the error alarm fires."
  type        = list(string)
  default     = []
}

variable "api_key" {
  description = "The API key (at least 16 characters). Stored in SSM Parameter Store, read at boot; never baked in an AMI. deploy.sh generates one."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.api_key) >= 16
    error_message = "api_key must be at least 16 characters."
  }
}

variable "worker_secret" {
  description = "The workers' heartbeat secret (at least 16 characters). Stored in SSM Parameter Store, read at boot. deploy.sh generates one."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.worker_secret) >= 16
    error_message = "worker_secret must be at least 16 characters."
  }
}

variable "redis_auth_token" {
  description = "Redis AUTH token (16-128 letters, digits or '-'). ElastiCache requires it for every client; stored in SSM Parameter Store, from which faas-boot builds FAAS_REDIS_URL. deploy.sh generates one."
  type        = string
  sensitive   = true
  validation {
    # AWS also allows ! & # $ ^ < >; '#' and the rest would need escaping inside the rediss:// URL.
    condition     = can(regex("^[A-Za-z0-9-]{16,128}$", var.redis_auth_token))
    error_message = "redis_auth_token must be 16 to 128 letters, digits or '-'."
  }
}

variable "env_key" {
  description = "FAAS_ENV_KEY: the key (at least 32 characters) that encrypts functions' env vars inside queued SQS tasks, shared by the controller and the workers. Stored in SSM Parameter Store. deploy.sh generates one."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.env_key) >= 32
    error_message = "env_key must be at least 32 characters."
  }
}

variable "sandbox_uid_base" {
  description = "First host uid of the workers' function sandboxes (FAAS_SANDBOX_UID_BASE). Every uid in the range is firewalled from all egress; keep it clear of real users."
  type        = number
  default     = 100000
  validation {
    condition     = var.sandbox_uid_base >= 1000 && var.sandbox_uid_base <= 4000000000 && floor(var.sandbox_uid_base) == var.sandbox_uid_base
    error_message = "sandbox_uid_base must be a whole number from 1000 (no system or root uid) to 4000000000."
  }
}

variable "sandbox_uid_count" {
  description = "How many sandbox uids a worker may use (FAAS_SANDBOX_UID_COUNT): the range is sandbox_uid_base .. sandbox_uid_base + count - 1."
  type        = number
  default     = 1000
  validation {
    condition     = var.sandbox_uid_count >= 1 && floor(var.sandbox_uid_count) == var.sandbox_uid_count && var.sandbox_uid_count <= 1000000
    error_message = "sandbox_uid_count must be a whole number between 1 and 1000000."
  }
}
