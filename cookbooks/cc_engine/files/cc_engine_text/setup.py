# The dependency of the example application, installed from a wheel built
# with `pip wheel` (docs/python.md): the shape of a pinned, offline
# dependency.
from setuptools import setup

setup(name="cc-engine-text", version="1.0", packages=["cc_engine_text"])
