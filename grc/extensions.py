"""Extension objects created once and bound to the application in create_app (the Api is per app)."""
from __future__ import annotations

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from grc.db import Database

db = Database()
jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, default_limits=[])
