# The lean profile: `make deploy PROFILE=lean` applies it on top of the defaults, `faas cost` prices it
# beside them. One setting a line, each with its trade-off after the '#' (faas cost prints it).
controller_instance_type = "t4g.micro"       # Graviton (arm64) with the same 1 GiB as t3.micro: the controller AMI must be baked for arm64 (make bake PROFILE=lean).
cache_engine             = "valkey"          # Valkey 8 instead of Redis 7.1, billed 20 % lower: same protocol, TLS and AUTH token, but a fork the services are not yet tested against on AWS.
cache_node_type          = "cache.t4g.micro" # Graviton cache node with the same 0.5 GiB as cache.t3.micro.
worker_secrets_from      = "s3"              # No SSM endpoint: workers read one SSE-KMS S3 object through the free gateway; make deploy rewrites it, so a secret changed only in SSM does not reach them.
worker_logs              = "s3"              # No Logs endpoint: worker logs are copied to S3 every minute; `faas logs` does not show them, and up to a minute is lost when a worker dies.
