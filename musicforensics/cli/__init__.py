"""The Typer command-line interface: thin commands over the library (no DSP here)."""
