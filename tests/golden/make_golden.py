"""Regenerate the golden results of every shipped scenario: ``python tests/golden/make_golden.py``.

Run it only after a deliberate change of the model or data, and say why in the commit:
the golden files pin the numbers that the test suite compares against.
"""

from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent


def golden_table(results):
    """Welfare by year, sector and region, plus prices: the numbers a golden test pins."""
    welfare = results.welfare.drop(columns="scenario")
    prices = results.prices.drop(columns="scenario")
    return welfare.merge(prices, on=["year", "sector", "region"])


def write_golden(table, out: Path) -> None:
    """Write a golden table as the golden files are written (12 significant digits), expected or actual."""
    table.to_csv(out, index=False, float_format="%.12g")


def main():
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        table = golden_table(sim.run(path))
        out = GOLDEN / f"{path.stem}.csv"
        write_golden(table, out)
        print(f"wrote {out.relative_to(ROOT)} ({len(table)} rows)")


if __name__ == "__main__":
    main()
