"""Tests of gradzoo.plugins: specs, discovery, loading, failures and duplicates."""
