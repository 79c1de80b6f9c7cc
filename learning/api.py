"""(being written)"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
openapi_paths: dict[str, Any] = {}
SCHEMAS: dict[str, Any] = {}
