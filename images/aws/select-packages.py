"""Prints, one per line, the files (relative to site-packages) of moto and the packages moto server
needs, taken from this host's Python; images/aws/build-rootfs.sh copies exactly these.

The closure is that of moto[server] minus what the platform never exercises and that would triple
the image: cfn-lint (with sympy and networkx, for CloudFormation), docker (for Lambda and Batch),
aws-xray-sdk and setuptools.
"""
import importlib.metadata as md
import sys

from packaging.markers import default_environment
from packaging.requirements import Requirement

LEFT_OUT = {"cfn-lint", "docker", "aws-xray-sdk", "setuptools"}


def key(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def walk(name: str, extras: set, seen: dict) -> None:
    if key(name) in seen or key(name) in LEFT_OUT:
        return
    dist = md.distribution(name)
    seen[key(name)] = dist
    for text in dist.requires or []:
        req = Requirement(text)
        env = default_environment()
        wanted = req.marker is None
        for extra in [*extras, ""]:
            env["extra"] = extra
            wanted = wanted or req.marker.evaluate(env)
        if wanted:
            walk(req.name, set(req.extras), seen)


seen: dict = {}
walk("moto", {"server"}, seen)
site = sys.argv[1]
for dist in seen.values():
    for f in dist.files or []:
        path = str(f)
        if path.startswith("..") or "__pycache__" in path and not path.endswith(".pyc"):
            continue
        print(path)
