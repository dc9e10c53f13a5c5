"""The shipped standards catalogue (catalogue.json), loaded into the schemes table by migration 0003."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from grc.db import utcnow

CATALOGUE = Path(__file__).with_name("catalogue.json")
# Fixed ids, so every installation names the shipped schemes the same way.
NAMESPACE = uuid.UUID("6f1c6a52-6f0e-4c1e-9d1b-7a1c5b0e2a10")


def catalogue() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return entries


def scheme_id(code: str, edition: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{code}:{edition}")


def catalogue_rows() -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {**entry, "id": scheme_id(entry["code"], entry["edition"]), "tenant_id": None,
         "created_at": now, "updated_at": now}
        for entry in catalogue()
    ]
