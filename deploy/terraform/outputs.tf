output "elastic_ip" {
  description = "The platform's only public address."
  value       = aws_eip.controller.public_ip
}

output "elastic_ip_allocation_id" {
  description = "The Elastic IP's allocation id (FAAS_EIP_ALLOCATION_ID)."
  value       = aws_eip.controller.allocation_id
}

output "api_url" {
  description = "The public API: https on controller_port with the pinned certificate (tls_mode = self-signed), https://<tls_domain> (acme), http (off)."
  value       = local.api_url
}

output "tls_mode" {
  description = "How the public API serves HTTPS (variable tls_mode)."
  value       = var.tls_mode
}

output "tls_fingerprint" {
  description = "tls_mode = self-signed: the SHA-256 of the API's certificate, which clients pin (FAAS_TLS_FINGERPRINT). Empty otherwise."
  value       = local.tls_self_signed ? var.tls_fingerprint : ""
}

output "controller_url_for_workers" {
  description = "How workers reach the controller from the private subnets."
  value       = local.controller_url
}

output "queue_url" {
  description = "The task queue."
  value       = aws_sqs_queue.tasks.url
}

output "dead_letter_queue_url" {
  description = "Where tasks go after too many deliveries."
  value       = aws_sqs_queue.dead_letter.url
}

output "bucket" {
  description = "Function code bucket."
  value       = aws_s3_bucket.functions.bucket
}

output "table" {
  description = "Function metadata table."
  value       = aws_dynamodb_table.functions.name
}

output "redis_url" {
  description = "The result store (TLS). The AUTH token is not in it: it is the SSM parameter redis_auth_token_parameter, which faas-boot inserts."
  value       = local.redis_url
}

output "redis_auth_token_parameter" {
  description = "SSM parameter holding the Redis AUTH token."
  value       = aws_ssm_parameter.redis_auth_token.name
}

output "env_key_parameter" {
  description = "SSM parameter holding FAAS_ENV_KEY."
  value       = aws_ssm_parameter.env_key.name
}

output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.main.id
}
