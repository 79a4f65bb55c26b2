# The controller: an Auto Scaling Group of exactly one over the public subnets. A replacement boots,
# reads its instance id through IMDSv2 and claims the Elastic IP (AssociateAddress with reassociation
# allowed), with the same code the local cloud runs (services/controller/elastic-ip.ts).

locals {
  eip_tag          = "${var.name}-controller"
  controller_count = var.standby_controller ? 2 : 1
}

resource "aws_eip" "controller" {
  domain = "vpc"
  # The controller finds its address by this tag when FAAS_EIP_ALLOCATION_ID is not set.
  tags = { Name = local.eip_tag }
}

resource "aws_launch_template" "controller" {
  name_prefix   = "${var.name}-controller-"
  image_id      = var.controller_ami_id
  instance_type = var.controller_instance_type
  iam_instance_profile {
    arn = aws_iam_instance_profile.controller.arn
  }
  network_interfaces {
    device_index = 0
    # Needed to reach the EC2 API before it holds the Elastic IP; AWS releases this address when the
    # Elastic IP is associated, so it is billed only for the minute in between.
    associate_public_ip_address = true
    delete_on_termination       = true
    security_groups             = [aws_security_group.controller.id]
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  # faas-health.sh powers the instance off when it cannot reach SetInstanceHealth: it then terminates,
  # and the group replaces it.
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
  user_data = base64encode(templatefile("${path.module}/user-data/controller.sh.tftpl", merge({
    region         = var.region
    port           = var.controller_port
    private_port   = var.controller_private_port
    queue_url      = aws_sqs_queue.tasks.url
    dlq_url        = aws_sqs_queue.dead_letter.url
    bucket         = aws_s3_bucket.functions.bucket
    table          = aws_dynamodb_table.functions.name
    redis_endpoint = local.redis_endpoint
    allocation_id  = aws_eip.controller.allocation_id
    eip_tag        = local.eip_tag
    # With a standby, both controllers claim the address only through the lease in Redis (docs/failover.md).
    eip_mode            = var.standby_controller ? "lease" : "boot"
    api_key_param       = aws_ssm_parameter.api_key.name
    worker_secret_param = aws_ssm_parameter.worker_secret.name
    redis_token_param   = aws_ssm_parameter.redis_auth_token.name
    env_key_param       = aws_ssm_parameter.env_key.name
    log_group           = aws_cloudwatch_log_group.controller.name
    asg_name            = local.controller_asg_name
  }, local.controller_tls_boot)))
  # default_tags stop at the launch template: what the group launches gets the tags from here.
  dynamic "tag_specifications" {
    for_each = ["instance", "volume", "network-interface"]
    content {
      resource_type = tag_specifications.value
      tags          = merge(local.tags, { Name = "${var.name}-controller", Role = "controller" })
    }
  }
}

resource "aws_autoscaling_group" "controller" {
  name             = local.controller_asg_name
  min_size         = local.controller_count
  desired_capacity = local.controller_count
  # Room for the instance refresh's replacement beside the old instance (max_healthy_percentage = 200);
  # nothing scales this group, so it never runs more than desired_capacity otherwise.
  max_size                  = 2 * local.controller_count
  vpc_zone_identifier       = aws_subnet.public[*].id
  health_check_type         = "EC2"
  health_check_grace_period = var.health_check_grace_period
  launch_template {
    id      = aws_launch_template.controller.id
    version = aws_launch_template.controller.latest_version
  }
  # A new launch template version (make bake && make deploy: a new AMI) rolls out by itself: the
  # replacement boots and claims the Elastic IP before the old instance is terminated. Unproven
  # locally: moto has no StartInstanceRefresh (the plan test asserts the settings).
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
    value               = "controller"
    propagate_at_launch = true
  }
  # The controller's boot reads SSM and its role's policy; the endpoints' private DNS and the gateway
  # routes must exist before the first instance asks for them.
  depends_on = [aws_vpc_endpoint.interface, aws_vpc_endpoint.gateway, aws_iam_role_policy.controller]
}
