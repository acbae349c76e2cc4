"""The tree's layout rules (scripts/check-layout.py), checked and tested."""
