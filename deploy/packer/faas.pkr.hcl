# One template, both roles, two kinds of image. The amazon-ebs sources bake the AMIs the Terraform
# launch templates boot; the docker sources bake the local cloud's images from a base built offline
# (no registry is reachable: pull = false). Every source runs the same provisioning scripts; only the
# AMIs get the cloud-init cleanup, because only they boot through cloud-init.
#   packer build -only='docker.*' -var bundle=... deploy/packer
#   packer build -only='amazon-ebs.*' -var bundle=... deploy/packer
# Packer >= 1.7 also reads required-plugins/plugins.pkr.hcl (the amazon and docker plugins, which
# Packer >= 1.10 no longer bundles): deploy/scripts/packer-build.sh runs `packer init` on it and builds
# from a folder holding both. It is kept out of this folder because Packer 1.6.6 (Debian's, the one on
# the development machines) rejects a required_plugins block.

variable "name" {
  type    = string
  default = "faas"
}

variable "bundle" {
  type        = string
  description = "The application bundle tarball from deploy/scripts/bundle.sh."
  default     = "../../.faas/bundle/faas-bundle.tar.gz"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "controller_build_instance_type" {
  type        = string
  description = "Must match controller_arch (t3 = x86_64, t4g = arm64)."
  default     = "t3.micro"
}

variable "controller_arch" {
  type        = string
  description = "x86_64 for the default t3.micro controller, arm64 for the lean profile's t4g.micro."
  default     = "x86_64"
}

variable "worker_build_instance_type" {
  type        = string
  description = "Must match the workers' architecture (t4g = arm64)."
  default     = "t4g.micro"
}

variable "worker_arch" {
  type    = string
  default = "arm64"
}

variable "caddy_version" {
  type        = string
  description = "Caddy, the controller's TLS front with tls_mode = acme: the release baked into the controller AMI (install-caddy.sh)."
  default     = "2.11.9"
}

variable "caddy_sha512" {
  type        = string
  description = "The SHA-512 of caddy_<caddy_version>_linux_<arch>.tar.gz, to pin the exact archive; empty: checked against the release's own checksums file."
  default     = ""
}

variable "docker_base_image" {
  type        = string
  description = "A local image with /bin/sh, built offline (no registry is reachable here); without a registry it must carry the pinned Node.js (.node-version) already."
  default     = "faas-base:bookworm"
}

locals {
  stamp = formatdate("YYYYMMDDhhmmss", timestamp())
  # The one pin of the platform's Node.js, shared with make and the offline images.
  node_version = trimspace(file("${abspath(path.root)}/../../.node-version"))
  ami_source_filter = {
    controller = "al2023-ami-2023.*-kernel-*-${var.controller_arch}"
    worker     = "al2023-ami-2023.*-kernel-*-${var.worker_arch}"
  }
}

source "amazon-ebs" "controller" {
  region        = var.region
  instance_type = var.controller_build_instance_type
  ami_name      = "${var.name}-controller-${local.stamp}"
  ssh_username  = "ec2-user"
  source_ami_filter {
    filters = {
      name                = local.ami_source_filter.controller
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }
  tags = {
    Project = var.name
    Role    = "controller"
  }
}

source "amazon-ebs" "worker" {
  region        = var.region
  instance_type = var.worker_build_instance_type
  ami_name      = "${var.name}-worker-${local.stamp}"
  ssh_username  = "ec2-user"
  source_ami_filter {
    filters = {
      name                = local.ami_source_filter.worker
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }
  tags = {
    Project = var.name
    Role    = "worker"
  }
}

source "docker" "controller" {
  image  = var.docker_base_image
  pull   = false
  commit = true
  changes = [
    "WORKDIR /opt/faas/app",
    "ENV NODE_ENV=production",
    "USER faas",
    "EXPOSE 8080",
    "ENTRYPOINT [\"/usr/bin/node\", \"dist/services/controller/main.js\"]",
  ]
}

source "docker" "worker" {
  image  = var.docker_base_image
  pull   = false
  commit = true
  changes = [
    "WORKDIR /opt/faas/app",
    "ENV NODE_ENV=production",
    "ENTRYPOINT [\"/usr/bin/node\", \"dist/services/worker/main.js\"]",
  ]
}

build {
  sources = [
    "source.amazon-ebs.controller",
    "source.amazon-ebs.worker",
    "source.docker.controller",
    "source.docker.worker",
  ]

  provisioner "file" {
    source      = var.bundle
    destination = "/tmp/faas-bundle.tar.gz"
    # bake.sh builds the bundle first; validation must not need one.
    generated = true
  }

  provisioner "file" {
    source      = "${path.root}/files/"
    destination = "/tmp/faas-files"
  }

  # The Node.js installer that make uses, run by scripts/install-node.sh below.
  provisioner "file" {
    source      = "${path.root}/../../scripts/install-node.sh"
    destination = "/tmp/faas-files/install-node.sh"
  }

  provisioner "shell" {
    environment_vars = [
      "FAAS_ROLE=${source.name}",
      "FAAS_NODE_VERSION=${local.node_version}",
      "FAAS_CADDY_VERSION=${var.caddy_version}",
      "FAAS_CADDY_SHA512=${var.caddy_sha512}",
    ]
    scripts = [
      "${path.root}/scripts/install-node.sh",
      "${path.root}/scripts/install-app.sh",
      "${path.root}/scripts/install-supervisor.sh",
      "${path.root}/scripts/install-sandbox.sh",
      "${path.root}/scripts/install-cloudwatch-agent.sh",
      "${path.root}/scripts/install-caddy.sh",
    ]
  }

  provisioner "shell" {
    only   = ["amazon-ebs.controller", "amazon-ebs.worker"]
    script = "${path.root}/scripts/clean-for-imaging.sh"
  }

  post-processor "docker-tag" {
    only       = ["docker.controller", "docker.worker"]
    repository = "${var.name}-${source.name}"
    tags       = ["latest"]
  }

  post-processor "manifest" {
    output = "${path.root}/../../.faas/packer-manifest.json"
  }
}
