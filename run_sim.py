"""Run tradesim from a checkout: ``python run_sim.py run scenarios/example_steel_tariff.toml``.

The same command line as the installed ``tradesim`` script (see ``sim/cli.py``).
"""

from sim.cli import main

if __name__ == "__main__":
    main()
