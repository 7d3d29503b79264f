"""The Typer command-line interface. Command modules register themselves on ``app``."""
