"""The unified search box: every enabled plugin contributes through the ``search``
hook; exact identifier matches rank first."""
from __future__ import annotations

from typing import Any

from core.types import SearchResult


def unified_search(runtime: Any, session: Any, query: str, actor: Any, limit: int = 20) -> list[SearchResult]:
    query = query.strip()
    if not query:
        return []
    batches = runtime.hook.search(session=session, query=query, actor=actor, limit=limit)
    seen: set[tuple[str, str]] = set()
    results: list[SearchResult] = []
    for batch in batches:
        for r in batch or ():
            key = (r.type, str(r.id))
            if key not in seen:
                seen.add(key)
                results.append(r)
    results.sort(key=lambda r: (not r.exact, -r.score))
    return results[:limit]


def direct_hit(results: list[SearchResult]) -> SearchResult | None:
    """The record a scanned identifier names: the only exact hit, if there is one."""
    exact = [r for r in results if r.exact]
    return exact[0] if len(exact) == 1 else None
