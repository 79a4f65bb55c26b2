# TLS on the public API (tls_mode; deploy/README.md "TLS").
#   self-signed  the controller serves HTTPS itself on controller_port with a certificate deploy.sh makes
#                once (deploy/tls/api-certificate.ts) and keeps in two SecureString parameters, written
#                here through write-only arguments (never in the state or the plan). faas-boot writes
#                them to /etc/faas/tls for the controller only, after checking that the certificate is
#                the one whose fingerprint (tls_fingerprint, in user data) deploy.sh printed. A new
#                certificate therefore changes the launch template, and the instance refresh rolls it out.
#   acme         Caddy on the controller obtains and renews a certificate for tls_domain from an ACME CA
#                (acme_ca, Let's Encrypt by default) and proxies 443 to the API, which then listens on
#                127.0.0.1 only. Caddy's storage (ACME account, certificate, key) is copied to the code
#                bucket under caddy_storage_prefix and restored by the next controller, so a replacement
#                does not ask the CA again (Let's Encrypt allows 5 certificates a week for one name).
#   off          plain HTTP on controller_port: the API key crosses the internet in clear text.

locals {
  tls_self_signed      = var.tls_mode == "self-signed"
  tls_acme             = var.tls_mode == "acme"
  caddy_storage_prefix = "tls/caddy"
  caddy_storage        = "s3://${aws_s3_bucket.functions.bucket}/${local.caddy_storage_prefix}"
  tls_param_arns       = concat(aws_ssm_parameter.tls_cert[*].arn, aws_ssm_parameter.tls_key[*].arn)
  # The controller's user-data settings for TLS (controller.tf): every key always set, empty where the
  # mode does not use it, so the template has no conditionals (and the tests render it as it is).
  controller_tls_boot = {
    tls_mode        = var.tls_mode
    api_host        = local.tls_acme ? "127.0.0.1" : "0.0.0.0"
    tls_cert_param  = local.tls_self_signed ? aws_ssm_parameter.tls_cert[0].name : ""
    tls_key_param   = local.tls_self_signed ? aws_ssm_parameter.tls_key[0].name : ""
    tls_fingerprint = local.tls_self_signed ? var.tls_fingerprint : ""
    tls_domain      = local.tls_acme ? var.tls_domain : ""
    acme_email      = local.tls_acme ? var.acme_email : ""
    acme_ca         = local.tls_acme ? var.acme_ca : ""
    caddy_storage   = local.tls_acme ? local.caddy_storage : ""
  }
  api_url = (
    local.tls_acme ? "https://${var.tls_domain}" :
    "${local.tls_self_signed ? "https" : "http"}://${aws_eip.controller.public_ip}:${var.controller_port}"
  )
}

resource "aws_ssm_parameter" "tls_cert" {
  count = local.tls_self_signed ? 1 : 0
  name  = "/${var.name}/tls-cert"
  type  = "SecureString"
  # Write-only, like the secrets: sent on create and when secrets_version changes.
  value_wo         = var.tls_cert
  value_wo_version = var.secrets_version
}

resource "aws_ssm_parameter" "tls_key" {
  count            = local.tls_self_signed ? 1 : 0
  name             = "/${var.name}/tls-key"
  type             = "SecureString"
  value_wo         = var.tls_key
  value_wo_version = var.secrets_version
}

# Optional: the domain's A record on the Elastic IP, when its Route 53 hosted zone is in this account.
# Otherwise pointing the name at the address (output elastic_ip) is the user's, before Caddy can get a
# certificate (it retries until the name resolves to the instance).
resource "aws_route53_record" "api" {
  count   = local.tls_acme && var.route53_zone_id != "" ? 1 : 0
  zone_id = var.route53_zone_id
  name    = var.tls_domain
  type    = "A"
  ttl     = 300
  records = [aws_eip.controller.public_ip]
}
