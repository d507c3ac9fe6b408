"""Figures and files: stats, imports and exports."""
