"""Alembic's environment: runs the revisions on the connection `open_store` hands over.

`open_store` puts an open connection (inside a transaction) into `config.attributes`; there is
no alembic.ini and no logging setup here, so migrating never reconfigures the caller's logging.
"""

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through chargeback.store.open_store, not the alembic CLI")
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
