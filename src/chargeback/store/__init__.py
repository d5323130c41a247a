"""Store: where usage, prices and users live. SQLAlchemy Core tables, the engine, reads and
writes, Alembic migrations. All SQL lives here. Imports usage, pricing and errors.
"""
