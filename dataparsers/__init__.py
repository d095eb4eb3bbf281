"""Reading a synthesised dataset: its format, at the bottom of the project, and the `mom4d-data` DataParser."""
