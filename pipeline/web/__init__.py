"""The web app and JSON API of kvp: `create_app(index_dir)`, served by `kvp serve`."""

from pipeline.web.app import create_app

__all__ = ["create_app"]
