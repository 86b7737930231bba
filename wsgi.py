"""The WSGI entry point: `gunicorn wsgi:app`."""

from matcher.web import create_app

app = create_app()
