"""Ships templates/, mailbox_rules.yaml and demo/ inside the wheel as service/_bundled.

They stay at the top of the repository (where a company edits and reviews them); the build
copies them in, so an install outside the checkout finds them through importlib.resources.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("templates", "mailbox_rules.yaml", "demo")


class BuildWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "service" / "_bundled"
        target.mkdir(parents=True, exist_ok=True)
        for name in SHIPPED:
            source = root / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithShippedFiles})
