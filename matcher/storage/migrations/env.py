"""Alembic's entry point: migrate the database named in the configuration.

matcher.storage.database.migrate passes its own connection (holding the migration lock); the alembic
command line gets one from the configured URL.
"""

from alembic import context
from sqlalchemy import engine_from_config, pool

from matcher.storage.database import Base

config = context.config
given = config.attributes.get("connection")
if given is not None:
    context.configure(connection=given, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
