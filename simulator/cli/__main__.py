"""``python -m simulator.cli``: the same as the ``agora`` console script."""

from simulator.cli import main

main()
