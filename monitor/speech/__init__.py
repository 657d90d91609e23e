"""The greeting check: audio in, speech recognised, department and name found (R2, R3, R7)."""
