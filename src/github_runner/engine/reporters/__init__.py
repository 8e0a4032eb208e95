"""Reporters: where engine events go. `terminal` for people, `jsonl` for machines.

Both only ever receive events whose text already went through the Masker (`engine/output.py`).
"""
