# make bake PROFILE=lean: the controller AMI for the lean profile's Graviton controller (t4g.micro).
controller_arch                = "arm64"
controller_build_instance_type = "t4g.micro"
