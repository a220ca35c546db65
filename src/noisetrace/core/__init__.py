"""Small shared kernel every stage may import: errors, file schemas, atomic I/O, seeding."""
