"""Staff passwords are hashed with argon2id at argon2-cffi's default cost, RFC 9106's
low-memory profile (64 MiB, 3 passes, 4 lanes).

The other in-process tests hash with a cheap argon2 (``production_password_hasher`` in
tests/conftest.py); these check the hasher that ``sala.accounts`` makes for Sala itself.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from starlette.applications import Starlette

from sala import accounts
from tests.factories import PASSWORD, make_staff


def test_sala_hashes_with_argon2id_at_the_rfc_9106_low_memory_cost(
    production_password_hasher: PasswordHasher,
) -> None:
    parameters = extract_parameters(production_password_hasher.hash(PASSWORD))
    assert parameters == RFC_9106_LOW_MEMORY
    assert parameters.type is Type.ID
    memory_kib, passes, lanes = parameters.memory_cost, parameters.time_cost, parameters.parallelism
    assert (memory_kib, passes, lanes) == (64 * 1024, 3, 4)


async def test_a_staff_password_is_stored_and_checked_at_that_cost(
    app: Starlette, production_password_hasher: PasswordHasher
) -> None:
    cheap = accounts.use_password_hasher(production_password_hasher)
    try:
        user = await make_staff()
        assert extract_parameters(user.password_hash) == RFC_9106_LOW_MEMORY
        logged_in = await accounts.authenticate(user.email, PASSWORD)
        assert logged_in is not None and logged_in.id == user.id
        assert await accounts.authenticate("nobody@example.org", PASSWORD) is None
    finally:
        accounts.use_password_hasher(cheap)
