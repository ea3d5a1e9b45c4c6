"""Tests of gradzoo.lab."""
