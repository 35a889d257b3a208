"""The package build puts the built taskpane into the wheel, so `pip install` and `crmbridge serve` serve it.

Everything else is declared in pyproject.toml. `build_py` runs scripts/lib/bundle.sh (npm ci from the lockfile,
then esbuild) and copies the site it makes, addin/taskpane/dist/, into the package as crmbridge/taskpane_site/.
Built from an sdist, which carries that site already built (and the sources, lockfile and scripts to build it
again), it uses the site as it is: no Node.js is needed to install from an sdist (nor with CRMBRIDGE_TASKPANE_BUILT=1,
which the Dockerfile sets after its Node.js stage built the site). An editable install serves the
checkout's addin/taskpane/dist/ directly and builds nothing here.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
SITE = ROOT / "addin" / "taskpane" / "dist"
BUNDLE = ROOT / "scripts" / "lib" / "bundle.sh"
PACKAGED = "taskpane_site"


def build_site() -> None:
    prebuilt = (ROOT / "PKG-INFO").exists() or os.environ.get("CRMBRIDGE_TASKPANE_BUILT") == "1"
    if prebuilt and (SITE / "taskpane.html").exists():
        return  # an sdist, built when the sdist was made; or the Dockerfile's Node.js stage built it
    subprocess.run(["bash", str(BUNDLE)], cwd=ROOT, check=True)
    if not (SITE / "taskpane.html").exists():
        raise SystemExit("The taskpane was not built (scripts/lib/bundle.sh needs Node.js 18+ and npm).")


class BuildPyWithTaskpane(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        build_site()
        target = Path(self.build_lib) / "crmbridge" / PACKAGED
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SITE, target)


class SdistWithTaskpane(sdist):
    def run(self):
        build_site()  # before the file list is made, so the built site is in it
        super().run()


setup(cmdclass={"build_py": BuildPyWithTaskpane, "sdist": SdistWithTaskpane})
