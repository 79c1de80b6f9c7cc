"""Bearer tokens: taking access away works at once, even though lookups are remembered."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sala import accounts
from sala.errors import NotFound
from sala.models import ApiToken, Role
from tests.factories import make_staff


async def _bearer(user_token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {user_token}"}


async def test_a_revoked_token_is_refused_at_once(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    token = await accounts.create_api_token(facilitator, label="phone")
    headers = await _bearer(token)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200

    (made,) = await accounts.list_api_tokens(facilitator)
    assert await accounts.revoke_api_tokens(facilitator, actor=facilitator, token_id=made.id) == 1
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    with pytest.raises(NotFound):  # nothing left to revoke
        await accounts.revoke_api_tokens(facilitator, actor=facilitator, token_id=made.id)
    # The account's other tokens still work.
    other = await _bearer(await accounts.create_api_token(facilitator, label="laptop"))
    assert (await client.get("/api/v1/me", headers=other)).status_code == 200


async def test_a_new_role_or_a_deactivation_ends_every_token_for_good(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    headers = await _bearer(await accounts.create_api_token(facilitator))
    me = await client.get("/api/v1/me", headers=headers)
    assert me.json()["role"] == "facilitator"

    # A new name takes nothing away: the token keeps working, with the new name.
    await accounts.update_staff(
        facilitator, name="Dara K.", role=Role.FACILITATOR, is_active=True, actor=admin
    )
    assert (await client.get("/api/v1/me", headers=headers)).json()["name"] == "Dara K."

    await accounts.update_staff(
        facilitator, name="Dara K.", role=Role.TEAM_LEADER, is_active=True, actor=admin
    )
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    fresh = await _bearer(await accounts.create_api_token(facilitator))
    me = await client.get("/api/v1/me", headers=fresh)
    assert me.json()["role"] == "team_leader"
    assert (await client.post("/api/v1/checkins", json={}, headers=fresh)).status_code == 403

    await accounts.update_staff(
        facilitator, name="Dara K.", role=Role.TEAM_LEADER, is_active=False, actor=admin
    )
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 401
    # Reactivated, the account starts with no token: none of the old ones comes back.
    await accounts.update_staff(
        facilitator, name="Dara K.", role=Role.TEAM_LEADER, is_active=True, actor=admin
    )
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 401
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_a_password_reset_ends_every_token(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    headers = await _bearer(await accounts.create_api_token(facilitator, label="door phone"))
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    await accounts.reset_password(facilitator, password="a new long password", actor=admin)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    tokens = await accounts.list_api_tokens(facilitator)
    assert [t.revoked_at is not None for t in tokens] == [True]


async def test_a_revocation_by_another_process_is_noticed_within_seconds(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    token = await accounts.create_api_token(facilitator)
    headers = await _bearer(token)
    now = [1000.0]
    monkeypatch.setattr(accounts, "monotonic", lambda: now[0])
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200

    # Another process (or a person at the database) revokes it: this process does not know.
    revoked = datetime.now(UTC)
    await ApiToken.filter(token_hash=accounts.hash_token(token)).update(revoked_at=revoked)
    now[0] += accounts.TOKEN_CACHE_SECONDS + 0.1
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
