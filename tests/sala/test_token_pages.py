"""API tokens one can see and revoke (issue 14): one's own on /staff/account/tokens, anyone's
for admins on /staff/users/{id}, and from the command line (`sala tokens`, `sala revoke-token`)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from sala import accounts
from sala.models import ApiToken, Role, StaffUser
from tests.conftest import TEST_SECRET
from tests.factories import csrf_from, log_in, make_staff

ROOT = Path(__file__).resolve().parents[2]
TOKENS = "/staff/account/tokens"
REVOKE = "/staff/account/tokens/revoke"

Browser = Callable[..., httpx.AsyncClient]


@dataclass
class Row:
    label: str
    made: str
    last_used: str
    status: str
    token_id: int | None  # the id its Revoke button sends; None once revoked


def _rows(page: str) -> list[Row]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1) if body else "", re.S):
        cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        button = re.search(r'name="token_id" value="(\d+)"', row)
        status = re.sub(r"<[^>]+>|\s+", " ", cells[3]).strip()
        label, made, last_used = cells[:3]
        rows.append(Row(label, made, last_used, status, int(button.group(1)) if button else None))
    return rows


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _make_token(client: httpx.AsyncClient, label: str) -> str:
    page = await client.get(TOKENS)
    answer = await client.post(TOKENS, data={"label": label, "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 200, answer.text
    shown = re.search(r'<code class="secret">(sala_[^<]+)</code>', answer.text)
    assert shown, "the new token is not shown"
    return shown.group(1)


async def _revoke(
    client: httpx.AsyncClient, page_url: str, action: str, **data: str
) -> httpx.Response:
    page = await client.get(page_url)
    return await client.post(action, data={**data, "csrf_token": csrf_from(page.text)})


async def _me(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/v1/me", headers=_bearer(token))).status_code


# ----------------------------------------------------------------------------- one's own tokens


async def test_a_new_token_is_shown_once_and_works(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR, email="dara@example.org")
    await log_in(client, facilitator)
    page = await client.get(TOKENS)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "No tokens." in page.text

    token = await _make_token(client, "door phone")
    me = await client.get("/api/v1/me", headers=_bearer(token))
    assert me.status_code == 200
    assert me.json()["email"] == "dara@example.org"
    again = await client.get(TOKENS)
    assert token not in again.text
    assert [row.label for row in _rows(again.text)] == ["door phone"]

    empty = await client.post(TOKENS, data={"label": "  ", "csrf_token": csrf_from(page.text)})
    assert empty.status_code == 422
    assert "Give the token a name" in empty.text
    too_long = await client.post(
        TOKENS, data={"label": "x" * 101, "csrf_token": csrf_from(page.text)}
    )
    assert too_long.status_code == 422
    assert await ApiToken.filter(user_id=facilitator.id).count() == 1


async def test_the_list_says_when_a_token_was_made_and_last_used(
    client: httpx.AsyncClient,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    token = await _make_token(client, "door phone")
    await _make_token(client, "laptop")
    rows = _rows((await client.get(TOKENS)).text)
    assert [(row.label, row.last_used) for row in rows] == [
        ("laptop", "never"),
        ("door phone", "never"),
    ]
    assert all(row.made and row.made != "never" for row in rows)

    assert await _me(client, token) == 200
    rows = _rows((await client.get(TOKENS)).text)
    assert rows[0].last_used == "never"
    assert rows[1].last_used != "never"
    assert rows[1].last_used == rows[1].made  # both this very minute, in the same format


async def test_revoking_one_token_stops_it_and_only_it(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    lost = await _make_token(client, "lost phone")
    kept = await _make_token(client, "laptop")
    assert await _me(client, lost) == 200
    lost_id = next(
        r.token_id for r in _rows((await client.get(TOKENS)).text) if r.label == "lost phone"
    )

    answer = await _revoke(client, TOKENS, REVOKE, token_id=str(lost_id))
    assert answer.status_code == 303
    page = await client.get(answer.headers["location"])
    assert "The token has been revoked." in page.text
    rows = {row.label: row for row in _rows(page.text)}
    assert rows["lost phone"].status.startswith("Revoked") and rows["lost phone"].token_id is None
    assert rows["laptop"].token_id is not None
    assert await _me(client, lost) == 401
    assert await _me(client, kept) == 200
    # Revoked already: nothing to revoke.
    assert (await _revoke(client, TOKENS, REVOKE, token_id=str(lost_id))).status_code == 404


async def test_revoking_all_ones_tokens(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    tokens = [await _make_token(client, label) for label in ("door phone", "laptop", "script")]
    assert "Revoke all my tokens" in (await client.get(TOKENS)).text
    answer = await _revoke(client, TOKENS, REVOKE)
    assert answer.status_code == 303
    assert [await _me(client, token) for token in tokens] == [401, 401, 401]
    page = await client.get(TOKENS)
    assert all(row.status.startswith("Revoked") for row in _rows(page.text))
    assert "Revoke all my tokens" not in page.text


async def test_no_one_revokes_another_staff_members_token_from_their_own_page(
    new_client: Browser,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    colleague = await make_staff(Role.FACILITATOR)
    theirs = await accounts.create_api_token(colleague, label="their door phone")
    their_id = (await ApiToken.get(user_id=colleague.id)).id
    async with new_client() as browser:
        await log_in(browser, facilitator)
        assert (await _revoke(browser, TOKENS, REVOKE, token_id=str(their_id))).status_code == 404
        for bad in ("abc", "99999999999999999999", "-1"):
            assert (await _revoke(browser, TOKENS, REVOKE, token_id=bad)).status_code == 404
        admins_way = await _revoke(
            browser, TOKENS, f"/staff/users/{colleague.id}/tokens/revoke", token_id=str(their_id)
        )
        assert admins_way.status_code == 403
        # Revoking "all my tokens" is all *my* tokens.
        assert (await _revoke(browser, TOKENS, REVOKE)).status_code == 303
        assert await _me(browser, theirs) == 200


# ----------------------------------------------------------------------------- admins


async def test_an_admin_sees_and_revokes_anyones_tokens(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    lost = await accounts.create_api_token(facilitator, label="lost phone")
    other = await accounts.create_api_token(facilitator, label="laptop")
    spare = await accounts.create_api_token(facilitator, label="spare")
    await log_in(client, admin)
    account = f"/staff/users/{facilitator.id}"
    page = await client.get(account)
    assert page.headers["cache-control"] == "no-store"
    rows = {row.label: row for row in _rows(page.text)}
    assert set(rows) == {"lost phone", "laptop", "spare"}
    assert lost not in page.text

    action = f"/staff/users/{facilitator.id}/tokens/revoke"
    one = await _revoke(client, account, action, token_id=str(rows["lost phone"].token_id))
    assert one.status_code == 303
    assert one.headers["location"] == f"{account}?revoked=1"
    assert "The token has been revoked." in (await client.get(one.headers["location"])).text
    assert [await _me(client, t) for t in (lost, other, spare)] == [401, 200, 200]

    assert "Revoke all their tokens" in (await client.get(account)).text
    assert (await _revoke(client, account, action)).status_code == 303
    assert [await _me(client, t) for t in (lost, other, spare)] == [401, 401, 401]
    # An id of someone else's token on this person's page: not theirs, not found.
    admins_own = await accounts.create_api_token(admin, label="admin laptop")
    admins_id = (await ApiToken.get(user_id=admin.id)).id
    assert (await _revoke(client, account, action, token_id=str(admins_id))).status_code == 404
    assert await _me(client, admins_own) == 200


# ----------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (TOKENS, {"label": "made by another site"}),
        (REVOKE, {}),
        ("/staff/users/{facilitator}/tokens/revoke", {}),
        ("/staff/account/logins/end", {"others": "1"}),
        ("/staff/account", {"current_password": "x", "password": "another site's password"}),
        ("/staff/account/two-factor", {"action": "on", "code": "123456"}),
        ("/staff/users/{facilitator}/two-factor/off", {}),
        ("/staff/users", {"admins_need_two_factor": "on"}),
        ("/staff/logout", {}),
    ],
)
async def test_every_post_needs_the_csrf_token(
    client: httpx.AsyncClient, new_client: Browser, path: str, data: dict[str, str]
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    theirs = await accounts.create_api_token(facilitator, label="door phone")
    mine = await accounts.create_api_token(admin, label="laptop")
    await log_in(client, admin)
    async with new_client("203.0.113.9") as other_browser:
        await log_in(other_browser, admin)
        url = path.format(facilitator=facilitator.id)
        for csrf in ({}, {"csrf_token": "from another site"}):
            answer = await client.post(url, data={**data, **csrf})
            assert answer.status_code == 403, (url, csrf)
        # Nothing happened: tokens work, no token made, both logins open.
        assert await _me(client, theirs) == 200 and await _me(client, mine) == 200
        assert await ApiToken.all().count() == 2
        assert (await client.get("/staff/account")).status_code == 200
        assert (await other_browser.get("/staff/account")).status_code == 200


# ----------------------------------------------------------------------------- the command line


def _sala(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``sala`` as an operator would, on the test's database (tests/sala/test_cli.py)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SALA_")}
    environment = {
        **inherited,
        "SALA_DATA_DIR": str(data_dir),
        "SALA_DATABASE_URL": database_url,
        "SALA_SECRET_KEY": TEST_SECRET,
    }
    return subprocess.run(
        [sys.executable, "-m", "sala", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
    )


async def _run_sala(
    database_url: str, data_dir: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(_sala, database_url, data_dir, *args)


def _listed(output: str) -> dict[int, list[str]]:
    return {int(line.split("\t")[0]): line.split("\t") for line in output.splitlines()}


async def test_sala_tokens_lists_and_sala_revoke_token_revokes(
    client: httpx.AsyncClient,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, email="dara@example.org")
    door = await accounts.create_api_token(facilitator, label="door phone")
    laptop = await accounts.create_api_token(facilitator, label="laptop")
    door_id, laptop_id = [
        t.id for t in await ApiToken.filter(user_id=facilitator.id).order_by("id")
    ]
    assert await _me(client, laptop) == 200

    listed = await _run_sala(database_url, tmp_path, "tokens", "--email", "Dara@Example.org")
    assert listed.returncode == 0, listed.stderr
    rows = _listed(listed.stdout)
    assert list(rows) == [laptop_id, door_id]  # newest first
    assert rows[door_id][1] == "door phone" and rows[door_id][3] == "last used never"
    assert rows[laptop_id][3].startswith("last used 20") and rows[laptop_id][3].endswith("UTC")
    assert rows[door_id][2].startswith("made 20")
    assert rows[door_id][4] == rows[laptop_id][4] == "active"

    one = await _run_sala(database_url, tmp_path, "revoke-token", "--email", facilitator.email,
                          "--id", str(door_id))  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert one.stdout.strip() == "Revoked 1 token of dara@example.org."
    assert await _me(client, door) == 401
    assert await _me(client, laptop) == 200

    rest = await _run_sala(database_url, tmp_path, "revoke-token", "--email", facilitator.email)
    assert rest.returncode == 0, rest.stderr
    assert rest.stdout.strip() == "Revoked 1 token of dara@example.org."
    listed = await _run_sala(database_url, tmp_path, "tokens", "--email", facilitator.email)
    assert all(row[4].startswith("revoked 20") for row in _listed(listed.stdout).values())
    # This process remembered the laptop's token a few seconds (docs/ARCHITECTURE.md): once
    # they are past, the revocation by the other process holds here too.
    later = accounts.monotonic() + accounts.TOKEN_CACHE_SECONDS + 1
    monkeypatch.setattr(accounts, "monotonic", lambda: later)
    assert await _me(client, laptop) == 401


async def test_the_token_commands_refuse_unknown_accounts_and_ids(
    app: Starlette, database_url: str, tmp_path: Path
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, email="dara@example.org")
    colleague = await make_staff(Role.FACILITATOR)
    await accounts.create_api_token(colleague, label="theirs")
    their_id = (await ApiToken.get(user_id=colleague.id)).id

    none = await _run_sala(database_url, tmp_path, "tokens", "--email", facilitator.email)
    assert none.returncode == 0 and none.stdout.strip() == "No tokens."
    for command in (["tokens"], ["revoke-token"], ["revoke-token", "--id", str(their_id)]):
        unknown = await _run_sala(database_url, tmp_path, *command, "--email", "nobody@example.org")
        assert unknown.returncode == 1, command
        assert "No staff account with the email nobody@example.org." in unknown.stderr
    for token_id in (str(their_id), "99999999999999999999"):
        refused = await _run_sala(database_url, tmp_path, "revoke-token",
                                  "--email", facilitator.email, "--id", token_id)  # fmt: skip
        assert refused.returncode == 1, token_id
        assert f"has no active token with the id {token_id}" in refused.stderr
    assert (await ApiToken.get(id=their_id)).revoked_at is None
    assert await StaffUser.filter(email="nobody@example.org").count() == 0
