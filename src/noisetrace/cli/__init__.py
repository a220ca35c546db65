"""Command-line interface: thin Typer commands that parse, call one library function, and print."""
