"""django-tenants' backend for connections through a transaction-pooling PgBouncer
(DB_POOLING=transaction; docs/pooling.md). Its DatabaseWrapper is in base.py, as Django
looks for it there."""
