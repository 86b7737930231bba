"""The storage layer: the database (SQLAlchemy engine and sessions), accounts, referrals, outbox.

Storage may import the domain; the domain never imports storage, and storage never imports the web.
"""
