variable "name" {
  description = "Prefix of every resource name and the Project tag (lowercase letters, digits and '-', at most 20: the code bucket's name adds the account and the region and must stay within 63)."
  type        = string
  default     = "faas"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name))
    error_message = "name must start with a lowercase letter and be at most 20 lowercase letters, digits or '-'."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or ap-northeast-2."
  }
}

variable "tags" {
  description = "Extra tags for every resource, the instances and their volumes included (launch templates copy them, since the provider's default_tags do not reach what an Auto Scaling group launches)."
  type        = map(string)
  default     = {}
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
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 16
    error_message = "vpc_cidr must be an IPv4 CIDR of /16 or larger (the subnets are /24s at offsets 0-2 and 100-102)."
  }
}

variable "interface_endpoint_az_count" {
  description = "How many AZs (private subnets) get an ENI of each interface endpoint, at $7.30 a month per endpoint and AZ in us-east-1. 1 (the default, the original design's trade-off): workers in the other AZ cross zones for SQS, SSM and Logs, and when that one AZ fails every worker loses the queue. az_count makes the endpoints zone-independent (deploy/README.md, \"Availability zones\")."
  type        = number
  default     = 1
  validation {
    condition     = floor(var.interface_endpoint_az_count) == var.interface_endpoint_az_count && var.interface_endpoint_az_count >= 1 && var.interface_endpoint_az_count <= var.az_count
    error_message = "interface_endpoint_az_count must be a whole number from 1 to az_count."
  }
}

variable "worker_logs" {
  description = "Where worker logs go. cloudwatch: the CloudWatch agent ships them to /<name>/worker through the Logs interface endpoint ($7.30 a month per AZ). s3: a timer on each worker copies /var/log/faas/worker.log to s3://<code bucket>/logs/worker/<instance id>/ every minute through the free S3 gateway endpoint (no Logs endpoint; `faas logs` does not read them; up to a minute is lost with an instance)."
  type        = string
  default     = "cloudwatch"
  validation {
    condition     = contains(["cloudwatch", "s3"], var.worker_logs)
    error_message = "worker_logs must be cloudwatch or s3."
  }
}

variable "worker_secrets_from" {
  description = "How workers read their secrets at boot. ssm: from Parameter Store through the SSM interface endpoint ($7.30 a month per AZ). s3: from one SSE-KMS encrypted object, s3://<code bucket>/secrets/worker.env, through the free S3 gateway endpoint, which deploy.sh writes from the same values before the workers launch (worker_secrets_file). The controller reads SSM either way, over its internet gateway."
  type        = string
  default     = "ssm"
  validation {
    condition     = contains(["ssm", "s3"], var.worker_secrets_from)
    error_message = "worker_secrets_from must be ssm or s3."
  }
}

variable "worker_secrets_file" {
  description = "worker_secrets_from = s3 only: a local file (FAAS_WORKER_SECRET=, FAAS_ENV_KEY=, FAAS_REDIS_AUTH_TOKEN= lines) uploaded as the workers' secrets object. deploy.sh writes it for the apply and removes it after; the state keeps its path and MD5, never its content."
  type        = string
  default     = ""
  validation {
    condition     = var.worker_secrets_from != "s3" || var.worker_secrets_file != ""
    error_message = "worker_secrets_from = s3 needs worker_secrets_file (make deploy writes one)."
  }
}

variable "standby_controller" {
  description = "Run a second controller (the controller group becomes 2/2) as a hot standby that takes the Elastic IP over in seconds. Priced by faas cost. Both controllers then claim the address only through a lease in Redis (FAAS_EIP_MODE=lease), and a stopping one hands it over (docs/failover.md)."
  type        = bool
  default     = false
}

variable "controller_instance_type" {
  description = "Instance type of the controller (its AMI must match the architecture: t3 = x86_64, t4g = arm64)."
  type        = string
  default     = "t3.micro"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", var.controller_instance_type))
    error_message = "controller_instance_type must be an EC2 instance type such as t3.micro."
  }
}

variable "worker_instance_type" {
  description = "Instance type of the workers (arm64 by default: the worker AMI must match)."
  type        = string
  default     = "t4g.nano"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", var.worker_instance_type))
    error_message = "worker_instance_type must be an EC2 instance type such as t4g.nano."
  }
}

# No lookup by name: the ids come from the bake that produced them (make bake writes them from Packer's
# manifest into .faas/amis.auto.tfvars.json, which make deploy passes), so someone else's bake never
# changes production on the next apply.
variable "controller_ami_id" {
  description = "AMI of the controller, as baked by deploy/packer (make deploy passes the last bake's)."
  type        = string
  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.controller_ami_id))
    error_message = "controller_ami_id must be an AMI id (ami-...): run make bake, or set TF_VAR_controller_ami_id."
  }
}

variable "worker_ami_id" {
  description = "AMI of the workers, as baked by deploy/packer (make deploy passes the last bake's)."
  type        = string
  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.worker_ami_id))
    error_message = "worker_ami_id must be an AMI id (ami-...): run make bake, or set TF_VAR_worker_ami_id."
  }
}

variable "root_volume_gb" {
  description = "Size of each instance's gp3 root volume."
  type        = number
  default     = 8
  validation {
    condition     = var.root_volume_gb >= 8 && var.root_volume_gb <= 1024 && floor(var.root_volume_gb) == var.root_volume_gb
    error_message = "root_volume_gb must be a whole number from 8 (the AMI's size) to 1024."
  }
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
  validation {
    condition     = var.worker_min_size >= 0 && var.worker_min_size <= var.worker_desired_capacity && var.worker_desired_capacity <= var.worker_max_size && var.worker_max_size <= 100
    error_message = "The worker group needs 0 <= worker_min_size <= worker_desired_capacity <= worker_max_size <= 100."
  }
}

variable "worker_slots" {
  description = "Concurrent invocations per worker (FAAS_WORKER_SLOTS)."
  type        = number
  default     = 2
  validation {
    condition     = var.worker_slots >= 1 && var.worker_slots <= 64 && floor(var.worker_slots) == var.worker_slots
    error_message = "worker_slots must be a whole number from 1 to 64."
  }
}

variable "controller_port" {
  description = "Port of the controller's HTTP API."
  type        = number
  default     = 8080
  validation {
    condition     = var.controller_port >= 1024 && var.controller_port <= 65535 && floor(var.controller_port) == var.controller_port
    error_message = "controller_port must be an unprivileged port (1024-65535): the controller runs as the faas user."
  }
}

variable "controller_private_port" {
  description = "Port of the controller's private listener: the workers' heartbeat, which the public API does not serve. Reachable from the workers' security group only."
  type        = number
  default     = 8081
  validation {
    condition     = var.controller_private_port >= 1024 && var.controller_private_port <= 65535 && floor(var.controller_private_port) == var.controller_private_port && var.controller_private_port != var.controller_port
    error_message = "controller_private_port must be an unprivileged port (1024-65535) other than controller_port."
  }
}

variable "api_ingress_cidrs" {
  description = "Who may call the public API on the Elastic IP."
  type        = list(string)
  default     = ["0.0.0.0/0"]
  validation {
    condition     = length(var.api_ingress_cidrs) > 0 && alltrue([for c in var.api_ingress_cidrs : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "api_ingress_cidrs must be a non-empty list of IPv4 CIDRs."
  }
}

variable "tls_mode" {
  description = "How the public API serves HTTPS (deploy/README.md \"TLS\"). self-signed: the controller serves a certificate that make deploy makes once, keeps in SSM and prints the SHA-256 of, which clients pin (FAAS_TLS_FINGERPRINT). acme: Caddy on the controller gets a certificate for tls_domain from acme_ca and serves the API on 443 (80 opens for the HTTP-01 challenge). off: plain HTTP, the API key in clear text."
  type        = string
  default     = "self-signed"
  validation {
    condition     = contains(["self-signed", "acme", "off"], var.tls_mode)
    error_message = "tls_mode must be self-signed, acme or off."
  }
}

variable "tls_domain" {
  description = "tls_mode = acme only: the API's DNS name (lower case, such as api.example.com), which must resolve to the Elastic IP (route53_zone_id makes the record; otherwise it is yours to make). It is written into Caddy's configuration and a shell script, so nothing but a host name passes."
  type        = string
  default     = ""
  validation {
    condition     = var.tls_domain == "" || (length(var.tls_domain) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.tls_domain)))
    error_message = "tls_domain must be a DNS name in lower case: letters, digits and '-' in dot-separated labels, such as api.example.com (no wildcard, no address, no spaces)."
  }
  validation {
    condition     = (var.tls_mode == "acme") == (var.tls_domain != "")
    error_message = "tls_mode = acme needs tls_domain, and tls_domain is used only with tls_mode = acme."
  }
}

variable "acme_email" {
  description = "tls_mode = acme: the contact address the ACME CA may write to about the certificate (optional)."
  type        = string
  default     = ""
  validation {
    condition     = var.acme_email == "" || (length(var.acme_email) <= 254 && can(regex("^[A-Za-z0-9._%+-]+@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,}$", var.acme_email)))
    error_message = "acme_email must be a plain e-mail address (letters, digits and ._%+- before the @, a DNS name after it)."
  }
}

variable "acme_ca" {
  description = "tls_mode = acme: the ACME directory Caddy asks. Let's Encrypt's production one by default; its staging one (https://acme-staging-v02.api.letsencrypt.org/directory) has far looser rate limits and an untrusted certificate, for a first trial."
  type        = string
  default     = "https://acme-v02.api.letsencrypt.org/directory"
  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*/?$", var.acme_ca))
    error_message = "acme_ca must be an https:// URL of an ACME directory, such as https://acme-v02.api.letsencrypt.org/directory."
  }
}

variable "route53_zone_id" {
  description = "tls_mode = acme, optional: a Route 53 hosted zone of this account in which to make tls_domain's A record on the Elastic IP. Empty: the record is yours to make."
  type        = string
  default     = ""
  validation {
    condition     = var.route53_zone_id == "" || (var.tls_mode == "acme" && can(regex("^Z[A-Z0-9]{1,31}$", var.route53_zone_id)))
    error_message = "route53_zone_id must be a hosted zone id (Z...), and is used only with tls_mode = acme."
  }
}

variable "tls_fingerprint" {
  description = "tls_mode = self-signed: the SHA-256 of tls_cert (AB:CD:..., 32 bytes), which clients pin. Not secret: it goes into the controller's user data, whose boot refuses any other certificate, so a new certificate also rolls the controller out. make deploy sets it."
  type        = string
  default     = ""
  validation {
    condition     = (var.tls_fingerprint == "" && var.tls_mode != "self-signed") || can(regex("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", var.tls_fingerprint))
    error_message = "tls_mode = self-signed needs tls_fingerprint, the certificate's SHA-256 as 32 upper-case hex bytes joined by ':' (make deploy computes it)."
  }
}

variable "tls_cert" {
  description = "tls_mode = self-signed: the API's certificate (PEM). make deploy makes it once and reads it back from SSM (/<name>/tls-cert) afterwards; written to SSM through a write-only argument."
  type        = string
  default     = ""
  ephemeral   = true
  validation {
    condition     = var.tls_mode != "self-signed" || can(regex("^\\s*-----BEGIN CERTIFICATE-----", var.tls_cert))
    error_message = "tls_mode = self-signed needs tls_cert, a PEM certificate: make deploy makes one (deploy/tls/api-certificate.ts), or set tls_mode = acme or off."
  }
}

variable "tls_key" {
  description = "tls_mode = self-signed: the certificate's private key (PEM). Like tls_cert, from make deploy; written to SSM (/<name>/tls-key) through a write-only argument, read at boot by the controller alone."
  type        = string
  default     = ""
  sensitive   = true
  ephemeral   = true
  validation {
    condition     = var.tls_mode != "self-signed" || can(regex("-----BEGIN [A-Z ]*PRIVATE KEY-----", var.tls_key))
    error_message = "tls_mode = self-signed needs tls_key, the certificate's PEM private key: make deploy makes one."
  }
}

variable "health_check_grace_period" {
  description = "Seconds the ASGs wait after launch before acting on health checks (and the instance refresh's warm-up)."
  type        = number
  default     = 90
  validation {
    condition     = var.health_check_grace_period >= 0 && var.health_check_grace_period <= 3600
    error_message = "health_check_grace_period must be between 0 and 3600 seconds."
  }
}

variable "cache_node_type" {
  description = "ElastiCache node type of the result store."
  type        = string
  default     = "cache.t3.micro"
  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.cache_node_type))
    error_message = "cache_node_type must be an ElastiCache node type such as cache.t3.micro."
  }
}

variable "cache_engine" {
  description = "Engine of the result store: redis (7.1) or valkey (8.0, the Redis-compatible fork ElastiCache bills 20 % lower per node hour). Both keep TLS and the AUTH token; the services speak the same protocol to either."
  type        = string
  default     = "redis"
  validation {
    condition     = contains(["redis", "valkey"], var.cache_engine)
    error_message = "cache_engine must be redis or valkey."
  }
}

variable "queue_visibility_timeout_s" {
  description = "SQS visibility timeout; longer than the longest function timeout (workers also extend it while a task runs)."
  type        = number
  default     = 60
  validation {
    condition     = var.queue_visibility_timeout_s >= 1 && var.queue_visibility_timeout_s <= 43200
    error_message = "queue_visibility_timeout_s must be between 1 and 43200 (SQS's limit)."
  }
}

variable "queue_max_receive_count" {
  description = "Deliveries before a task moves to the dead-letter queue."
  type        = number
  default     = 5
  validation {
    condition     = var.queue_max_receive_count >= 1 && var.queue_max_receive_count <= 1000
    error_message = "queue_max_receive_count must be between 1 and 1000 (SQS's limit)."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (and of worker logs in S3 with worker_logs = s3)."
  type        = number
  default     = 14
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention periods (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "error_alarm_threshold" {
  description = "Error lines in five minutes that raise the controller's alarm."
  type        = number
  default     = 1
}

variable "alarm_actions" {
  description = "ARNs (SNS topics) notified when an alarm fires (controller errors, dead-lettered tasks)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "alarm_actions must be ARNs."
  }
}

variable "force_destroy_code_bucket" {
  description = "Let terraform destroy delete the function-code bucket with the code in it. Off by default: destroying the stack must not silently delete every deployed function; the local cloud turns it on."
  type        = bool
  default     = false
}

variable "secrets_version" {
  description = "Write-only version of the SSM parameters' values: Terraform writes the secrets only when a parameter is created or this number changes (rotation), never stores them in the state, and so never overwrites what running instances read with another checkout's values."
  type        = number
  default     = 1
}

variable "api_key" {
  description = "The API key (at least 16 characters). Stored in SSM Parameter Store, read at boot; never baked in an AMI. deploy.sh generates one."
  type        = string
  sensitive   = true
  # Only ever written to SSM through a write-only argument: in neither the plan file nor the state.
  ephemeral = true
  validation {
    condition     = length(var.api_key) >= 16
    error_message = "api_key must be at least 16 characters."
  }
}

variable "worker_secret" {
  description = "The workers' heartbeat secret (at least 16 characters). Stored in SSM Parameter Store, read at boot. deploy.sh generates one."
  type        = string
  sensitive   = true
  # Only ever written to SSM through a write-only argument: in neither the plan file nor the state.
  ephemeral = true
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
  # Only ever written to SSM through a write-only argument: in neither the plan file nor the state.
  ephemeral = true
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
