"""Admins create staff accounts, change roles, deactivate them and reset passwords."""

from __future__ import annotations

import httpx

from sala.models import AuditEntry, Role, StaffUser
from tests.factories import log_in, make_staff, post_form


async def test_admin_creates_a_facilitator_who_can_then_log_in(
    client: httpx.AsyncClient, new_client
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    answer = await post_form(
        client,
        "/staff/users/new",
        {
            "email": "Kanha@Example.org",
            "name": "Kanha",
            "role": "facilitator",
            "password": "kanha's long password",
        },
    )
    assert answer.status_code == 303
    created = await StaffUser.get(email="kanha@example.org")
    assert created.role == Role.FACILITATOR
    assert await AuditEntry.filter(action="staff.create", object_id=str(created.id)).exists()
    async with new_client() as other:
        await log_in(other, created, "kanha's long password")
        assert (await other.get("/staff/sessions")).status_code == 200


async def test_bad_staff_form_is_shown_again_with_messages(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    answer = await post_form(
        client,
        "/staff/users/new",
        {"email": admin.email, "name": "", "role": "facilitator", "password": "short"},
    )
    assert answer.status_code == 422
    assert "The password must have at least 10 characters." in answer.text
    assert "Enter a name of at most 120 characters." in answer.text
    assert await StaffUser.all().count() == 1


async def test_duplicate_email_is_refused(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    answer = await post_form(
        client,
        "/staff/users/new",
        {"email": admin.email, "name": "Twin", "role": "facilitator", "password": "long enough pw"},
    )
    assert answer.status_code == 422
    assert "A staff account with this email already exists." in answer.text
    assert await StaffUser.all().count() == 1


async def test_admin_deactivates_and_resets(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    other = await make_staff(Role.FACILITATOR)
    await log_in(client, admin)
    answer = await post_form(
        client, f"/staff/users/{other.id}", {"name": "Renamed", "role": "team_leader"}
    )
    assert answer.status_code == 303
    await other.refresh_from_db()
    assert (other.name, other.role, other.is_active) == ("Renamed", Role.TEAM_LEADER, False)

    reset = await post_form(
        client,
        f"/staff/users/{other.id}",
        {"password": "a new long password"},
        action=f"/staff/users/{other.id}/password",
    )
    assert reset.status_code == 303
    short = await post_form(
        client,
        f"/staff/users/{other.id}",
        {"password": "short"},
        action=f"/staff/users/{other.id}/password",
    )
    assert short.status_code == 422


async def test_admin_cannot_lock_themself_out(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    answer = await post_form(
        client, f"/staff/users/{admin.id}", {"name": admin.name, "role": "facilitator"}
    )
    assert answer.status_code == 409
    await admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active


async def test_facilitator_cannot_manage_staff(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    assert (await client.get("/staff/users")).status_code == 403
    assert (await client.get("/staff/users/new")).status_code == 403


async def test_unknown_staff_account_is_a_404(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    assert (await client.get("/staff/users/9999")).status_code == 404
