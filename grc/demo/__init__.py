"""The demo world of ``grc seed-demo`` (run by ``python3 dev.py run``): Acme Certification and three clients, built
through the services by the people who would take each step, so it has its audit trail, events, notifications and
signed credentials like any real data.

- ``people``: the demo logins, and acting as one of them; ``organisations``: the CB (policy, registry connection)
  and its clients; ``certification``: audits, findings at each CAPA step, certificates (one suspended), the shop's
  mark licence and its proven domain (through ``loopback_dns``); ``risks``: the shop's shared e-commerce register
  and the CB's own; ``links``: what to open afterwards; ``world``: building it once, recognising it, ``--reset``.
"""
from __future__ import annotations

from grc.demo.links import Landmarks, Link, landmarks, links
from grc.demo.people import DEMO_LOGINS, DEMO_PASSWORD, PLATFORM_ADMIN, DemoLogin, ensure_platform_admin
from grc.demo.world import DemoError, reset_demo, seed_demo, seeding_settings

__all__ = [
    "DEMO_LOGINS", "DEMO_PASSWORD", "PLATFORM_ADMIN", "DemoError", "DemoLogin", "Landmarks", "Link",
    "ensure_platform_admin", "landmarks", "links", "reset_demo", "seed_demo", "seeding_settings",
]
