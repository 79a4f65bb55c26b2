# The controller: an Auto Scaling Group of exactly one over the public subnets. A replacement boots,
# reads its instance id through IMDSv2 and claims the Elastic IP (AssociateAddress with reassociation
# allowed), with the same code the local cloud runs (services/controller/elastic-ip.ts).

data "aws_ami" "controller" {
  count       = var.controller_ami_id == "" ? 1 : 0
  most_recent = true
  owners      = ["self"]
  filter {
    name   = "name"
    values = ["${var.name}-controller-*"]
  }
}

locals {
  controller_ami = var.controller_ami_id != "" ? var.controller_ami_id : data.aws_ami.controller[0].id
  eip_tag        = "${var.name}-controller"
}

resource "aws_eip" "controller" {
  domain = "vpc"
  # The controller finds its address by this tag when FAAS_EIP_ALLOCATION_ID is not set.
  tags = { Name = local.eip_tag }
}

resource "aws_launch_template" "controller" {
  name_prefix   = "${var.name}-controller-"
  image_id      = local.controller_ami
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
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }
  user_data = base64encode(templatefile("${path.module}/user-data/controller.sh.tftpl", {
    region              = var.region
    port                = var.controller_port
    queue_url           = aws_sqs_queue.tasks.url
    dlq_url             = aws_sqs_queue.dead_letter.url
    bucket              = aws_s3_bucket.functions.bucket
    table               = aws_dynamodb_table.functions.name
    redis_endpoint      = local.redis_endpoint
    allocation_id       = aws_eip.controller.allocation_id
    eip_tag             = local.eip_tag
    api_key_param       = aws_ssm_parameter.api_key.name
    worker_secret_param = aws_ssm_parameter.worker_secret.name
    redis_token_param   = aws_ssm_parameter.redis_auth_token.name
    env_key_param       = aws_ssm_parameter.env_key.name
    log_group           = aws_cloudwatch_log_group.controller.name
  }))
  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-controller", Role = "controller" }
  }
}

resource "aws_autoscaling_group" "controller" {
  name                      = "${var.name}-controller"
  min_size                  = 1
  max_size                  = 1
  desired_capacity          = 1
  vpc_zone_identifier       = aws_subnet.public[*].id
  health_check_type         = "EC2"
  health_check_grace_period = var.health_check_grace_period
  launch_template {
    id      = aws_launch_template.controller.id
    version = aws_launch_template.controller.latest_version
  }
  tag {
    key                 = "Role"
    value               = "controller"
    propagate_at_launch = true
  }
}
