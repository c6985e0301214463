"""docs/plugins.md stays true to the code: its hook reference matches core/hookspecs.py
(every hook, its exact signature, no stale hook) and it names the whole public surface
of ``core``. When a test here fails after a hookspec changed, run
``python -m core.docgen`` and review the diff."""
from __future__ import annotations

import inspect
import re

import pluggy
import pytest

import core
from core import docgen, hookspecs

GUIDE = docgen.GUIDE.read_text(encoding="utf-8")


def documented_hooks() -> dict[str, str]:
    """``{hook name: the signature line shown}`` as the guide's reference has them."""
    section = docgen.generated_section(GUIDE)
    return dict(re.findall(r"^#### `(\w+)`\n\n```python\ndef (\1\(.*?\)(?: -> .*?)?): \.\.\.$",
                           section, flags=re.M | re.S))


def declared_hooks() -> dict[str, object]:
    """The hookspecs as pluggy sees them (independent of the doc generator)."""
    pm = pluggy.PluginManager("counterdesk")
    pm.add_hookspecs(hookspecs)
    return {name: getattr(hookspecs, name) for name in dir(pm.hook)
            if not name.startswith("_") and getattr(pm.hook, name).spec is not None}


def test_every_hook_is_documented() -> None:
    missing = sorted(set(declared_hooks()) - set(documented_hooks()))
    assert missing == [], f"hooks missing from docs/plugins.md (run python -m core.docgen): {missing}"


def test_no_stale_hook_is_documented() -> None:
    stale = sorted(set(documented_hooks()) - set(declared_hooks()))
    assert stale == [], f"docs/plugins.md documents hooks that no longer exist: {stale}"


def expected_signature(name: str, fn: object) -> str:
    """``name(arg: Type, ...) -> Return`` from ``inspect`` (annotations are source text
    under ``from __future__ import annotations``; quoted ones are shown unquoted)."""
    sig = inspect.signature(fn)  # type: ignore[arg-type]

    def ann(a: object) -> str:
        return str(a).strip("'\"")
    params = []
    for p in sig.parameters.values():
        text = p.name + (f": {ann(p.annotation)}" if p.annotation is not p.empty else "")
        params.append(text + (f" = {p.default!r}" if p.default is not p.empty else ""))
    ret = f" -> {ann(sig.return_annotation)}" if sig.return_annotation is not sig.empty else ""
    return f"{name}({', '.join(params)}){ret}"


@pytest.mark.parametrize("name", sorted(declared_hooks()))
def test_documented_signature_is_exact(name: str) -> None:
    assert documented_hooks()[name] == expected_signature(name, declared_hooks()[name])


def test_reference_matches_the_hookspecs_exactly() -> None:
    """Signatures, pluggy options, docstrings, order and families."""
    assert docgen.generated_section(GUIDE) == docgen.render(), \
        "docs/plugins.md's hook reference is out of date: run `python -m core.docgen`"


def test_docstrings_are_in_the_guide() -> None:
    for name, fn in declared_hooks().items():
        assert inspect.cleandoc(fn.__doc__ or "") in GUIDE, f"{name}'s docstring is not in the guide"


def names_in_code() -> set[str]:
    """Identifiers inside the guide's code spans and blocks, outside the reference."""
    text = GUIDE.replace(docgen.generated_section(GUIDE), "")
    return {word for _ticks, code in re.findall(r"(`+)(.+?)\1", text, flags=re.S)
            for word in re.findall(r"\w+", code)}


@pytest.mark.parametrize("name", sorted(core.__all__))
def test_public_name_is_in_the_guide(name: str) -> None:
    assert name in names_in_code(), \
        f"core.{name} is exported but docs/plugins.md does not mention it (as `{name}`)"
