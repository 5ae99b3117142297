"""One table of display names and colours, used by every plot and by the CLI summary.

Regions keep one colour in every plot (by code where the code is known, else by
position); scenarios in a comparison take colours from their own palette so a
scenario is never mistaken for a region; welfare components and price measures
have fixed names and colours.
"""

from __future__ import annotations

__all__ = ["COMPONENTS", "MEASURES", "WORLD", "region_colour", "scenario_colour", "scenario_hatch",
           "short_name", "WORLD_COLOUR"]

#: Welfare components (columns of welfare.csv): display name and colour.
COMPONENTS = {
    "consumer_surplus": ("Consumer surplus", "#4C72B0"),
    "producer_surplus": ("Producer surplus", "#55A868"),
    "exporter_margin": ("Exporters' absorbed margin", "#C44E52"),
    "tariff_revenue": ("Tariff revenue", "#DD8452"),
    "quota_rent": ("Quota rent", "#8172B3"),
    "net_welfare": ("Net welfare", "#222222"),
}

#: Price and quantity measures (columns of prices.csv): display name and colour.
MEASURES = {
    "consumer_price_pct": ("Consumer price", "#4C72B0"),
    "producer_price_pct": ("Producer price", "#55A868"),
    "output_pct": ("Output", "#937860"),
}

#: The sum over all regions.
WORLD = "World"
WORLD_COLOUR = "#222222"

_KNOWN_REGIONS = {
    "USA": "#1F4E9A", "JPN": "#C8102E", "CHN": "#E8A33D", "KOR": "#2A9D8F", "EU": "#6A4C93",
    "CAN": "#E76F51", "MEX": "#3E8E41", "ROW": "#8C8C8C",
}
_PALETTE = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F",
            "#BCBD22", "#17BECF"]
_SCENARIO_PALETTE = ["#3B6FB6", "#E07B39", "#5BA05B", "#B94A48", "#8E6BBF", "#2B9FA8", "#C9A227", "#7A7A7A"]
_HATCHES = ["", "//", "..", "xx", "\\\\", "oo", "++", "--"]


def region_colour(code: str, position: int = 0) -> str:
    """The colour of a region: fixed for the built-in codes, else by its position in the dataset."""
    if code == WORLD:
        return WORLD_COLOUR
    return _KNOWN_REGIONS.get(code, _PALETTE[position % len(_PALETTE)])


def scenario_colour(position: int) -> str:
    """The colour of the ``position``-th scenario of a comparison."""
    return _SCENARIO_PALETTE[position % len(_SCENARIO_PALETTE)]


def scenario_hatch(position: int) -> str:
    """The hatch pattern that marks the ``position``-th scenario where colour already means a component."""
    return _HATCHES[position % len(_HATCHES)]


def short_name(name: str) -> str:
    """A display name without its parenthetical detail: ``"Motor vehicles and parts (HS 8703, ...)"`` →
    ``"Motor vehicles and parts"``."""
    return name.split(" (", 1)[0].strip() or name
