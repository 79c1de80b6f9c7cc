"""What ``sala/db.py`` sets on the connections it opens (see ``config_for_url``)."""

from __future__ import annotations

import httpx
from tortoise import connections


async def test_each_database_runs_with_the_settings_sala_chose(client: httpx.AsyncClient) -> None:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        [row] = await connection.execute_query_dict("PRAGMA synchronous")
        assert row["synchronous"] == 1  # NORMAL: the WAL is synced at checkpoints
    else:
        [row] = await connection.execute_query_dict("SHOW jit")
        assert row["jit"] == "off"  # compiling the reports' plans cost more than it gained
