"""Pages as a browser sees them: the form token a posted form must carry, a staff login."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient


def form_token(page: str) -> str:
    """The csrf_token of the (first) form on `page`; fails the test if there is none."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"the page carries no form token:\n{page}"
    return found.group(1)


def staff_logged_in(app: Flask, username: str, password: str) -> FlaskClient:
    """A browser session logged in to the console as `username` (the login must succeed)."""
    client = app.test_client()
    token = form_token(client.get("/staff/login").get_data(as_text=True))
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/staff"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return client
