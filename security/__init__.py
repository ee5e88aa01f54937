"""Security checks with real tools: see scan.py and docs/security.md."""
