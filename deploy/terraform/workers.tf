# The workers: an Auto Scaling Group in the private subnets. They reach AWS only through the VPC
# endpoints and the controller through the Elastic IP's public DNS name, which inside the VPC resolves
# to the private address of whichever instance holds the Elastic IP (deploy/README.md).

data "aws_ami" "worker" {
  count       = var.worker_ami_id == "" ? 1 : 0
  most_recent = true
  owners      = ["self"]
  filter {
    name   = "name"
    values = ["${var.name}-worker-*"]
  }
}

locals {
  worker_ami = var.worker_ami_id != "" ? var.worker_ami_id : data.aws_ami.worker[0].id
  # moto leaves public_dns empty; AWS always fills it for an address in a VPC with DNS hostnames.
  controller_host = aws_eip.controller.public_dns != "" ? aws_eip.controller.public_dns : aws_eip.controller.public_ip
  controller_url  = "http://${local.controller_host}:${var.controller_port}"
}

resource "aws_launch_template" "worker" {
  name_prefix   = "${var.name}-worker-"
  image_id      = local.worker_ami
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
  }))
  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-worker", Role = "worker" }
  }
}

resource "aws_autoscaling_group" "workers" {
  name                      = "${var.name}-workers"
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
  tag {
    key                 = "Role"
    value               = "worker"
    propagate_at_launch = true
  }
}
