"""JSON Schemas shipped with Choreo Studio (data files; this module only makes them package data)."""
