"""Peak memory of a batch: the solve, its tabulation and the results kept (docs/model.md, "Memory").

The estimates are upper bounds: measured with ``tracemalloc`` on the shipped scenarios, the
peak of a run with draws or a sweep lies between 0.5 and 1 times the estimate
(tests/test_resources.py checks it). :func:`sim.resources.check_memory` compares them with
the memory available.
"""

from __future__ import annotations

from .exact import memory_estimate, output_bytes

__all__ = ["batch_estimate", "tables_estimate", "labelled_welfare_bytes"]

FLOAT = 8
#: Arrays of markets × regions × regions alive at the peak of tabulating a batch, beyond the solver's
#: outputs: with quotas, the revenue split (applied rates, value, in-quota volume and their temporaries,
#: the masks); without, the flow values and volume changes kept for the draws' statistics.
TABULATE_FLOW_ARRAYS = {True: 6, False: 4}
#: Arrays of markets × regions made while tabulating (welfare by measure, prices, percentiles).
TABULATE_REGION_ARRAYS = 12
#: Bytes per draw × period × region: the net welfare of every draw kept in the results and its intervals.
DRAW_ROW_BYTES = 128
#: Bytes per flow cell of a labelled run: the tables of flows, prices and welfare, and writing them.
TABLE_CELL_BYTES = 1024
#: Fixed overhead of tabulating (pandas frames of the summaries, small arrays), bytes.
OVERHEAD = 8 * 2**20


def batch_estimate(markets: int, regions: int, quotas: bool, draw_rows: int = 0, input_flow_arrays: int = 0,
                   quotas_per_market: int = 0) -> int:
    """Peak bytes of solving ``markets`` markets of ``regions`` regions in one batch and summarising them.

    Parameters
    ----------
    markets : int
        Draws (or rates, or variants) × periods × sectors.
    regions : int
    quotas : bool
        Tariff-rate quotas are solved (two more output arrays, and the revenue split).
    draw_rows : int
        Draws × periods × regions of net welfare kept in the results (0 for a sweep).
    input_flow_arrays : int
        Arrays of markets × regions × regions the caller builds as inputs (a sweep's tariffs: 1).
    quotas_per_market : int
        The most quotas one market has (:func:`sim.engine.quotas_per_market`): each is one more unknown.

    Returns
    -------
    int
        The caller's inputs, plus the larger of the solve (:func:`~sim.engine.exact.memory_estimate`) and the
        tabulation (the solution and what the caller computes from it), plus the results kept.
    """
    cells = markets * regions * regions
    inputs = FLOAT * input_flow_arrays * cells
    tabulating = output_bytes(markets, regions, quotas) + FLOAT * (
        TABULATE_FLOW_ARRAYS[bool(quotas)] * cells + TABULATE_REGION_ARRAYS * markets * regions)
    solving = memory_estimate(markets, regions, quotas, quotas_per_market)
    return inputs + max(solving, tabulating) + DRAW_ROW_BYTES * draw_rows + OVERHEAD


def tables_estimate(markets: int, regions: int, quotas: bool, quotas_per_market: int = 0) -> int:
    """Peak bytes of a run without draws: its solve, its labelled tables and writing them."""
    return (batch_estimate(markets, regions, quotas, quotas_per_market=quotas_per_market)
            + TABLE_CELL_BYTES * markets * regions * regions)


#: Bytes per row of a labelled welfare frame (:func:`sim.tables.label_welfare`): five float columns and
#: four index levels' codes, with pandas' temporaries while the frame is built and grouped.
LABELLED_WELFARE_ROW_BYTES = 160


def labelled_welfare_bytes(markets: int, regions: int) -> int:
    """Peak bytes of labelling the welfare of ``markets`` markets (variants × periods × sectors) by region."""
    return LABELLED_WELFARE_ROW_BYTES * markets * regions
