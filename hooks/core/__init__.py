"""The pure core: parsing, planning and status, with no I/O (see README.md)."""
