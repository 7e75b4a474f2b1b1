"""Packaging hook: the wheel carries the trained models as `pipeline/models`.

The design keeps `models/` at the top of the checkout; an installed package has no checkout,
so the build copies the files the library loads into the package (see `pipeline.paths`).
Everything else about the package is declared in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# What the library reads at run time; labelled data and cards stay in the checkout.
SHIPPED = ("*.joblib", "*.json", "*.npz", "*.md")


class BuildWithModels(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads models/ of the checkout itself
        source = Path(__file__).resolve().parent / "models"
        target = Path(self.build_lib) / "pipeline" / "models"
        for pattern in SHIPPED:
            for path in source.rglob(pattern):
                if "drafts" in path.parts:
                    continue
                destination = target / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)


setup(cmdclass={"build_py": BuildWithModels})
