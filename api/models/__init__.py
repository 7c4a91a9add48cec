"""Pydantic models of the gateway API, by direction: `*Create` in, `*Public` out."""
