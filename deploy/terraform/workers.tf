# The workers: an Auto Scaling Group in the private subnets. They reach AWS only through the VPC
# endpoints and the controller through the Elastic IP's public DNS name, which inside the VPC resolves
# to the private address of whichever instance holds the Elastic IP (deploy/README.md).

locals {
  # moto leaves public_dns empty; AWS always fills it for an address in a VPC with DNS hostnames.
  controller_host = aws_eip.controller.public_dns != "" ? aws_eip.controller.public_dns : aws_eip.controller.public_ip
  controller_url  = "http://${local.controller_host}:${var.controller_private_port}"
}

resource "aws_launch_template" "worker" {
  name_prefix   = "${var.name}-worker-"
  image_id      = var.worker_ami_id
  instance_type = var.worker_instance_type
  iam_instance_profile {
    arn = aws_iam_instance_profile.worker.arn
  }
  network_interfaces {
    device_index                = 0
    associate_public_ip_address = false
    delete_on_termination       = true
    security_groups             = [aws_security_group.workers.id]
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  # Workers have no path to the Auto Scaling API (no endpoint for it): faas-health.sh powers a broken
  # worker off, it terminates, and the group replaces it.
  instance_initiated_shutdown_behavior = "terminate"
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }
  user_data = base64encode(templatefile("${path.module}/user-data/worker.sh.tftpl", {
    region              = var.region
    controller_url      = local.controller_url
    queue_url           = aws_sqs_queue.tasks.url
    bucket              = aws_s3_bucket.functions.bucket
    redis_endpoint      = local.redis_endpoint
    slots               = var.worker_slots
    visibility_timeout  = var.queue_visibility_timeout_s
    sandbox_uid_base    = var.sandbox_uid_base
    sandbox_uid_count   = var.sandbox_uid_count
    worker_secret_param = aws_ssm_parameter.worker_secret.name
    redis_token_param   = aws_ssm_parameter.redis_auth_token.name
    env_key_param       = aws_ssm_parameter.env_key.name
    log_group           = aws_cloudwatch_log_group.worker.name
    asg_name            = local.workers_asg_name
    secrets_from        = var.worker_secrets_from
    secrets_object      = "s3://${aws_s3_bucket.functions.bucket}/${local.worker_secrets_key}"
    logs_to             = var.worker_logs
    logs_s3_prefix      = "s3://${aws_s3_bucket.functions.bucket}/${local.worker_logs_prefix}"
  }))
  # default_tags stop at the launch template: what the group launches gets the tags from here.
  dynamic "tag_specifications" {
    for_each = ["instance", "volume", "network-interface"]
    content {
      resource_type = tag_specifications.value
      tags          = merge(local.tags, { Name = "${var.name}-worker", Role = "worker" })
    }
  }
}

resource "aws_autoscaling_group" "workers" {
  name                      = local.workers_asg_name
  min_size                  = var.worker_min_size
  max_size                  = var.worker_max_size
  desired_capacity          = var.worker_desired_capacity
  vpc_zone_identifier       = aws_subnet.private[*].id
  health_check_type         = "EC2"
  health_check_grace_period = var.health_check_grace_period
  launch_template {
    id      = aws_launch_template.worker.id
    version = aws_launch_template.worker.latest_version
  }
  # A new launch template version rolls out by itself, new workers before old ones leave (unproven
  # locally: moto has no StartInstanceRefresh).
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 100
      max_healthy_percentage = 200
      instance_warmup        = var.health_check_grace_period
    }
  }
  tag {
    key                 = "Role"
    value               = "worker"
    propagate_at_launch = true
  }
  # A worker's boot needs its endpoints (SQS, and SSM or the S3 gateway for its secrets), its secrets
  # object when they come from S3, and its role's policy.
  depends_on = [
    aws_vpc_endpoint.interface,
    aws_vpc_endpoint.gateway,
    aws_s3_object.worker_secrets,
    aws_iam_role_policy.worker,
  ]
}
