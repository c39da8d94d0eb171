"""Piccolo's configuration, used by ``recoup migrate`` (PICCOLO_CONF=domain.piccolo_conf).

Migrations run as the owner (DATABASE_URL); the application itself uses its own pools.
"""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

DB = PostgresEngine(
    config={
        "dsn": os.environ.get("RECOUP_MIGRATION_URL")
        or os.environ.get("DATABASE_URL", "postgresql:///recoup")
    }
)

APP_REGISTRY = AppRegistry(apps=["domain.piccolo_app"])
