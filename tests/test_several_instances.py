"""Several gunicorn instances on one database serve one queue, and no one's change is lost.

Each instance has its own state folder, as on separate hosts; only the database is shared.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from matcher import PROJECT_ROOT
from tests.forms import form_token
from tests.servers import running_server

# Several gunicorn instances on one database.
pytestmark = pytest.mark.slow

PASSWORD = "two-instances-password"
CONTACT = {"name": "Ana Example", "email": "ana@example.org"}
GRIEF = {"difficulties": ["grief"], "preferences": {"format": "online"}}


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results, in order.

    A call that raises fails the test here, in the test's own thread, with its exception.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


@pytest.fixture()
def instances(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two instances (two workers each) on one database, started at the same moment."""
    env = {
        "MATCHER_DATABASE_URL": database_url,
        "MATCHER_RATE_LIMIT": "",
        "MATCHER_SECRET_KEY": "instances-" + "k" * 40,
    }
    with contextlib.ExitStack() as stack:
        # Both migrate the new database at once: one waits for the other's lock.
        bases = at_once(
            *(
                lambda: stack.enter_context(
                    running_server({**env, "MATCHER_STATE_DIR": str(tmp_path_factory.mktemp("s"))})
                )[0]
                for _ in range(2)
            )
        )
        subprocess.run(
            [sys.executable, "-m", "matcher", "staff", "add", "desk", "--password-stdin"],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            capture_output=True,
        )
        yield bases


def logged_in(base: str) -> requests.Session:
    """A receptionist's browser session on one instance."""
    session = requests.Session()
    page = session.get(f"{base}/staff/login", timeout=10).text
    response = session.post(
        f"{base}/staff/login",
        data={"username": "desk", "password": PASSWORD, "csrf_token": form_token(page)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return session


def test_one_idempotency_key_sent_to_two_instances_makes_one_referral(
    instances: list[str],
) -> None:
    body = {"intake": GRIEF, "contact": CONTACT, "consent": True}
    responses = at_once(
        *(
            lambda base=base: requests.post(
                f"{base}/api/v1/referrals",
                json=body,
                headers={"Idempotency-Key": "retry-across-hosts"},
                timeout=30,
            )
            for base in instances * 3
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    queue = logged_in(instances[1]).get(f"{instances[1]}/staff/referrals", timeout=10).text
    assert len(re.findall(r'id="referral-([0-9a-f]{32})"', queue)) == 1


def test_a_referral_sent_to_one_instance_is_worked_on_the_other(instances: list[str]) -> None:
    first, second = instances
    created = requests.post(
        f"{first}/api/v1/referrals",
        json={"intake": GRIEF, "contact": CONTACT, "consent": True},
        timeout=30,
    )
    referral = created.json()["id"]
    desk = logged_in(second)
    assert f'id="referral-{referral}"' in desk.get(f"{second}/staff/referrals", timeout=10).text
    page = desk.get(f"{second}/staff/referrals/{referral}", timeout=10).text
    moved = desk.post(
        f"{second}/staff/referrals/{referral}",
        data={
            "csrf_token": form_token(page),
            "action": "status",
            "status": "contacted",
            "version": "1",
        },
        timeout=10,
    )
    assert moved.status_code == 200 and moved.url.endswith(f"/staff/referrals/{referral}")
    elsewhere = logged_in(first).get(f"{first}/staff/referrals?status=contacted", timeout=10)
    assert f'id="referral-{referral}"' in elsewhere.text


def test_two_receptionists_on_two_instances_change_one_referral_at_once_the_second_is_told(
    instances: list[str],
) -> None:
    created = requests.post(
        f"{instances[0]}/api/v1/referrals",
        json={"intake": GRIEF, "contact": CONTACT, "consent": True},
        timeout=30,
    )
    referral = created.json()["id"]
    desks = [logged_in(base) for base in instances]
    pages = [
        desk.get(f"{base}/staff/referrals/{referral}", timeout=10).text
        for desk, base in zip(desks, instances, strict=True)
    ]
    changes = [
        {"status": "contacted"},
        {"status": "closed", "reason": "found help elsewhere"},
    ]

    def save(index: int) -> requests.Response:
        return desks[index].post(
            f"{instances[index]}/staff/referrals/{referral}",
            data={
                "csrf_token": form_token(pages[index]),
                "action": "status",
                "version": "1",
                **changes[index],
            },
            allow_redirects=False,
            timeout=30,
        )

    responses = at_once(lambda: save(0), lambda: save(1))
    assert sorted(r.status_code for r in responses) == [303, 409]
    winner = [r.status_code for r in responses].index(303)
    told = responses[1 - winner].text
    assert "Someone else changed this referral since you opened it; nothing was changed." in told
    final = desks[0].get(f"{instances[0]}/staff/referrals/{referral}/export", timeout=10).json()
    assert final["status"] == changes[winner]["status"] and final["version"] == 2
    changed = [e["action"] for e in final["history"] if e["action"] != "referral.viewed"]
    assert changed == [f"referral.{changes[winner]['status']}"]
