"""What each solution method is and what it supports, declared once (docs/model.md, "Solver").

The scenario reader checks a file against these declarations (one message per block kind a
method cannot solve); :data:`sim.engine.METHODS` pairs each with the function that solves.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MethodSpec", "METHOD_SPECS", "unsupported"]

#: What a method may support: ``[[quota]]``, ``[[investment]]``, ``[[demand_shift]]`` blocks and linked sectors.
FEATURES = ("quota", "investment", "demand_shift", "linkages")


@dataclass(frozen=True)
class MethodSpec:
    """A method's name as a scenario writes it, what it is, and which scenario blocks it solves."""

    name: str
    title: str
    supports: frozenset[str]
    limits: str = ""


METHOD_SPECS = {
    "exact": MethodSpec("exact", "the exact Armington model", frozenset(FEATURES)),
    "gsim-linear": MethodSpec("gsim-linear", "Francois and Hall's linear GSIM", frozenset(),
                              limits="models tariff changes only"),
}


def unsupported(method: str, blocks: dict[str, int]) -> list[str]:
    """One message per kind of block (name → how many) that ``method`` cannot solve; [] for an unknown method."""
    spec = METHOD_SPECS.get(method)
    if spec is None:
        return []
    return [f"\"{spec.name}\" ({spec.title}) {spec.limits or 'cannot solve these'}; this file has [[{kind}]] "
            "blocks: use method = \"exact\"" for kind, count in blocks.items() if count and kind not in spec.supports]
