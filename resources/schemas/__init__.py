"""JSON Schemas shipped with Choreo Studio (data files; this module makes them package data)."""
