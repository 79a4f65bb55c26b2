# Security groups. Workers may reach only the endpoints, Redis and the controller's port; nothing
# reaches the workers. Rules are separate resources so the groups can refer to each other.

resource "aws_security_group" "controller" {
  name        = "${var.name}-controller"
  description = "FaaS controller: public API on the Elastic IP, AWS APIs over the internet gateway"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${var.name}-controller" }
}

resource "aws_security_group" "workers" {
  name        = "${var.name}-workers"
  description = "FaaS workers: no ingress; egress only to endpoints, Redis and the controller"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${var.name}-workers" }
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "FaaS Redis: reachable from the controller and the workers"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${var.name}-redis" }
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "FaaS interface endpoints: HTTPS from the controller and the workers"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${var.name}-endpoints" }
}

# Controller. The public API: on controller_port (self-signed or off), or on Caddy's 443 with
# tls_mode = acme, where the controller's own port listens on 127.0.0.1 only and is not opened here.
resource "aws_vpc_security_group_ingress_rule" "controller_api" {
  for_each          = toset(var.api_ingress_cidrs)
  security_group_id = aws_security_group.controller.id
  description       = local.tls_acme ? "Public API over HTTPS (Caddy)" : "Public API"
  ip_protocol       = "tcp"
  from_port         = local.tls_acme ? 443 : var.controller_port
  to_port           = local.tls_acme ? 443 : var.controller_port
  cidr_ipv4         = each.value
}

# tls_mode = acme: the CA's HTTP-01 challenge comes from addresses nobody can list, so port 80 is open to
# all even when api_ingress_cidrs is narrower; Caddy answers there only the challenge and a redirect to
# HTTPS. (Its other challenge, TLS-ALPN-01 on 443, works only where api_ingress_cidrs is 0.0.0.0/0.)
resource "aws_vpc_security_group_ingress_rule" "controller_acme_http" {
  count             = local.tls_acme ? 1 : 0
  security_group_id = aws_security_group.controller.id
  description       = "ACME HTTP-01 challenges and the redirect to HTTPS (Caddy)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

# The heartbeat is served only on the private listener (FAAS_PRIVATE_PORT), reachable from the workers alone.
resource "aws_vpc_security_group_ingress_rule" "controller_from_workers" {
  security_group_id            = aws_security_group.controller.id
  description                  = "Heartbeats from the workers (private listener)"
  ip_protocol                  = "tcp"
  from_port                    = var.controller_private_port
  to_port                      = var.controller_private_port
  referenced_security_group_id = aws_security_group.workers.id
}

resource "aws_vpc_security_group_egress_rule" "controller_all" {
  security_group_id = aws_security_group.controller.id
  description       = "AWS APIs (EC2, SSM, S3, DynamoDB, SQS) and package mirrors"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# Workers: egress only
resource "aws_vpc_security_group_egress_rule" "workers_to_endpoints" {
  security_group_id            = aws_security_group.workers.id
  description                  = "Interface endpoints (SQS, SSM, Logs)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id
}

resource "aws_vpc_security_group_egress_rule" "workers_to_gateways" {
  for_each          = aws_vpc_endpoint.gateway
  security_group_id = aws_security_group.workers.id
  description       = "Gateway endpoint ${each.key}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value.prefix_list_id
}

resource "aws_vpc_security_group_egress_rule" "workers_to_redis" {
  security_group_id            = aws_security_group.workers.id
  description                  = "Redis results"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_vpc_security_group_egress_rule" "workers_to_controller" {
  security_group_id            = aws_security_group.workers.id
  description                  = "Heartbeats to the controller (private listener)"
  ip_protocol                  = "tcp"
  from_port                    = var.controller_private_port
  to_port                      = var.controller_private_port
  referenced_security_group_id = aws_security_group.controller.id
}

# Redis
resource "aws_vpc_security_group_ingress_rule" "redis_from" {
  for_each = {
    controller = aws_security_group.controller.id
    workers    = aws_security_group.workers.id
  }
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = each.value
}

# Interface endpoints
resource "aws_vpc_security_group_ingress_rule" "endpoints_from" {
  for_each = {
    controller = aws_security_group.controller.id
    workers    = aws_security_group.workers.id
  }
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = each.value
}
