"""Where evidence bytes live: a small interface, a local-directory backend, and a registry for others.

Keys are content addresses (the SHA-256), so the same file uploaded twice is stored once and a stored
file can be checked against the hash recorded with its metadata.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from flask import Flask


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...


class LocalStorage:
    """Files under one directory, written atomically (temp file + rename)."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()


BACKENDS = {"local": lambda location: LocalStorage(Path(location))}


def storage(app: Flask) -> Storage:
    """The app's storage, built once from GRC_STORAGE (backend name) and GRC_STORAGE_LOCATION."""
    if "grc.storage" not in app.extensions:
        settings = app.config["GRC_SETTINGS"]
        app.extensions["grc.storage"] = BACKENDS[settings.storage_backend](settings.storage_location)
    backend: Storage = app.extensions["grc.storage"]
    return backend


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
