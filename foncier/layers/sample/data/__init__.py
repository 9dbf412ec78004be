"""Data files of the sample territory (the derived commune table), shipped with the package."""
