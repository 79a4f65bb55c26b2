# Terraform CLI configuration: install providers only from the local filesystem mirror.
# deploy/scripts/tf-env.sh renders this with the mirror found on this machine.
provider_installation {
  filesystem_mirror {
    path    = "@MIRROR@"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
