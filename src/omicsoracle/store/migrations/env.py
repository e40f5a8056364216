"""Alembic environment: runs on the connection the Store hands over.

No alembic.ini and no URL here: ``omicsoracle db upgrade`` (and every store on
open) builds the Config in code, so the settings object stays the one source.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
