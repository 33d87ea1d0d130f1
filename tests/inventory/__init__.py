"""Tests of the inventory room: adapters, kind map, contract."""
