"""The WSGI entry point: `gunicorn wsgi:app`."""

from matcher import create_app

app = create_app()
