"""``python -m foncier``: the ``foncier`` command."""

from foncier.scripts.cli import main

main()
