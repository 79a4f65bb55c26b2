# The plugins faas.pkr.hcl builds with, for Packer >= 1.7 (`packer init` installs them; Packer >= 1.10
# bundles none). deploy/scripts/packer-build.sh passes this file only to such a Packer: Packer 1.6.6,
# which has both builders built in, rejects the block ("Unsupported block type").
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.3"
    }
    docker = {
      source  = "github.com/hashicorp/docker"
      version = "~> 1.1"
    }
  }
}
