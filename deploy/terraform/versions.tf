terraform {
  # 1.11: write-only arguments (the SSM parameters' value_wo) and validations that refer to other variables.
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

# Credentials and region come from the usual AWS environment. `make deploy TARGET=local` points this
# same configuration at the local cloud with a generated *_override.tf file (see
# deploy/scripts/tf-workdir.sh), the way tflocal does; nothing here knows about the emulator.
provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # default_tags reach every resource Terraform creates, but not what an Auto Scaling group launches:
  # the launch templates copy these into their tag_specifications (instances, volumes, interfaces).
  tags       = merge(var.tags, { Project = var.name })
  azs        = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
}
